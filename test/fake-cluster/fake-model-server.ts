// The model server container of the fake cluster's pods (image fake-vllm:*): the fake Qwen3Guard server of the
// tests, on the pod's address. Run by the fake kubelet: --host <pod ip> --port <container port>.
import { startFakeOpenAI } from '../helpers/fake-openai.js';

const arg = (name: string) => process.argv[process.argv.indexOf(`--${name}`) + 1];
await startFakeOpenAI(arg('host'), Number(arg('port')));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
