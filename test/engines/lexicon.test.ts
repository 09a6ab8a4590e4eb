import { LexiconEngine } from '../../src/engines/lexicon/index.js';
import { runEngineContract } from './contract.js';

runEngineContract('lexicon', async () => ({
  engine: new LexiconEngine(),
  twin: () => new LexiconEngine(),
  close: async () => {},
}));
