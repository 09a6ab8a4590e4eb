// `guardgate credentials rotate`: new values for the credentials the pods hold (the gate token, the router
// secret), both accepted until every ready pod has the new, then the old refused (drivers/kubernetes/rotation.ts).
import { Command } from 'commander';
import { adminClient, CliExit } from './client.js';
import { EXIT } from './exit-codes.js';
import { print, withCommon, type Common } from './release.js';

interface RotationAnswer {
  rotated: string[];
  pods: string[];
  resumed: boolean;
  seconds: number;
}

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
      if (timeoutSeconds !== undefined && !(Number.isInteger(timeoutSeconds) && timeoutSeconds > 0))
        throw new CliExit(EXIT.usage, `--timeout takes a whole number of seconds (got ${flags.timeout})`, 'usage');
      const answer = await adminClient(flags).call<RotationAnswer>(
        'POST',
        '/admin/credentials/rotate',
        timeoutSeconds === undefined ? {} : { timeoutSeconds },
      );
      print(
        flags,
        answer,
        () =>
          `rotated ${answer.rotated.join(' and ')}${answer.resumed ? ' (went on with the rotation begun before)' : ''} in ${answer.seconds} s: ${answer.pods.length} ready pod(s) took the new values; the old ones are refused now`,
      );
    });
  return new Command('credentials').description('the credentials the controller and its pods share').addCommand(rotate);
}
