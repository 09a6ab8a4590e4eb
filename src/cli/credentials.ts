// `guardgate credentials rotate`: new values for the credentials the pods hold (the gate token, the router
// secret), both accepted until every ready pod has the new, then the old refused (drivers/kubernetes/rotation.ts).
import { Command } from 'commander';
import { adminClient, CliExit } from './client.js';
import { EXIT } from './exit-codes.js';
import { print, withCommon, type Common } from './release.js';

interface RotationAnswer {
  rotated: string[];
  pods: string[];
  unverified: string[];
  resumed: boolean;
  seconds: number;
}

interface CredentialsAnswer {
  rotation: 'available' | 'unavailable';
  why?: string;
  pendingSince: string | null;
}

/** The longest rotation the API takes (src/release/admin.ts). */
const MAX_SECONDS = 240;

export function credentialsCommand(): Command {
  const rotate = withCommon(new Command('rotate'))
    .description(
      'rotate the gate token and the router secret on Kubernetes, with no restart and no failed request: both values are accepted until every ready pod has the new one',
    )
    .option(
      '--timeout <seconds>',
      'how long the pods have to take the new values (default: kubernetes.rotationTimeoutSeconds)',
    )
    .action(async (flags: Common & { timeout?: string }) => {
      const timeoutSeconds = flags.timeout === undefined ? undefined : Number(flags.timeout);
      if (
        timeoutSeconds !== undefined &&
        !(Number.isInteger(timeoutSeconds) && timeoutSeconds > 0 && timeoutSeconds <= MAX_SECONDS)
      )
        throw new CliExit(
          EXIT.usage,
          `--timeout takes a whole number of seconds from 1 to ${MAX_SECONDS} (got ${flags.timeout})`,
          'usage',
        );
      const answer = await adminClient(flags).call<RotationAnswer>(
        'POST',
        '/admin/credentials/rotate',
        timeoutSeconds === undefined ? {} : { timeoutSeconds },
      );
      print(
        flags,
        answer,
        () =>
          `rotated ${answer.rotated.join(' and ')}${answer.resumed ? ' (went on with the rotation begun before)' : ''} in ${answer.seconds} s: ${answer.pods.length} pod(s) took the new values; the old ones are refused now${
            answer.unverified.length === 0
              ? ''
              : `\n${answer.unverified.length} pod(s) not ready could not be asked and were given a kubelet sync period: ${answer.unverified.join(', ')}`
          }`,
      );
    });
  const status = withCommon(new Command('status'))
    .description('whether a credential rotation is under way (the pods accept old and new values), and since when')
    .action(async (flags: Common) => {
      const answer = await adminClient(flags).call<CredentialsAnswer>('GET', '/admin/credentials');
      print(flags, answer, () =>
        answer.rotation === 'unavailable'
          ? `no rotation here: ${answer.why}`
          : answer.pendingSince === null
            ? 'no rotation under way: the pods accept one gate token and one router secret'
            : `a rotation began at ${answer.pendingSince} and has not finished: the pods accept the old and the new values; run guardgate credentials rotate to finish it`,
      );
    });
  return new Command('credentials')
    .description('the credentials the controller and its pods share')
    .addCommand(rotate)
    .addCommand(status);
}
