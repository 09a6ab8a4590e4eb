import { LexiconEngine } from '../../../src/engines/lexicon/index.js';
import { runEngineContract } from '../../engines/contract.js';

runEngineContract('lexicon', async () => ({
  engine: new LexiconEngine(),
  twin: () => new LexiconEngine(),
  close: async () => {},
}));
