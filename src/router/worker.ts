// A router cluster worker (`--workers N`): the data path and its own health checks, on the port the workers
// share. It applies the states the primary sends, acknowledges each by its epoch, answers status and
// metrics requests, and forwards mirror pairs while the primary has listeners. The primary owns the admin API.
import { createLogger, logFormatOf } from '../shared/logger.js';
import { Authenticator } from '../auth/authenticator.js';
import type { MirrorPair } from './mirror.js';
import { Router } from './router.js';
import type { FromWorker, ToWorker, WorkerInit } from './cluster-messages.js';

const send = (message: FromWorker): void => {
  process.send?.(message);
};

async function main(init: WorkerInit): Promise<void> {
  const log = createLogger(
    { level: init.logLevel, base: { service: 'guardgate-router', worker: init.index } },
    logFormatOf(process.env, process.stdout.isTTY === true),
  );
  const authenticator = await Authenticator.create(init.auth, {
    adminToken: init.adminToken,
    onKeyFileError: (error) =>
      log.error({ err: error }, 'API key file unreadable; the keys loaded before stay in force'),
  });
  const router = await Router.open(init.settings, log, authenticator);
  await router.apply(init.state);
  await router.start();
  let mirroring: (() => void) | undefined;
  const mirror = (on: boolean) => {
    if (on && mirroring === undefined)
      mirroring = router.onMirrorPair((pair: MirrorPair) => send({ type: 'pair', pair }));
    if (!on && mirroring !== undefined) {
      mirroring();
      mirroring = undefined;
    }
  };
  mirror(init.mirror);
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await router.close();
    authenticator.close();
    process.exit(0);
  };
  process.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'state':
        router.apply(message.state).then(
          () => send({ type: 'applied', epoch: router.epoch }),
          (error: Error) => send({ type: 'apply-failed', epoch: message.state.epoch, message: error.message }),
        );
        return;
      case 'status':
        send({ type: 'status', id: message.id, status: router.localStatus() });
        return;
      case 'metrics':
        void router.metrics.registry
          .getMetricsAsJSON()
          .then((metrics) => send({ type: 'metrics', id: message.id, metrics }));
        return;
      case 'mirror':
        mirror(message.on);
        return;
      case 'close':
        void close();
        return;
      case 'init':
        return;
    }
  });
  // The primary decides when to stop: a terminal's Ctrl-C reaches every process of the group.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
  process.on('disconnect', () => void close());
  send({ type: 'ready', url: router.url, previewUrl: router.previewUrl, epoch: router.epoch });
}

process.once('message', (message: ToWorker) => {
  if (message.type !== 'init') return;
  main(message.init).catch((error: Error) => {
    send({ type: 'failed', message: error.message });
    process.exit(1);
  });
});
send({ type: 'loaded' });
