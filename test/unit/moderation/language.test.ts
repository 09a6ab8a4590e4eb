import { describe, expect, it } from 'vitest';
import { compactEld } from '../../../src/moderation/eld-model.js';
import { languageDetector } from '../../../src/moderation/language.js';

const detectLanguage = languageDetector(await compactEld());

describe('detectLanguage', () => {
  it.each([
    ['How can I kill a Python process that is stuck?', 'en'],
    ['Comment est-ce que je peux arrêter un processus bloqué ?', 'fr'],
    ['Wie kann ich einen Prozess beenden, der hängt?', 'de'],
    ['¿Cómo puedo detener un proceso que está bloqueado?', 'es'],
    ['Hoe kan ik een proces stoppen dat vastzit?', 'nl'],
    ['今天天气怎么样？我想去公园散步。', 'zh'],
    ['このプロセスを止める方法を教えてください', 'ja'],
    ['이 프로세스를 어떻게 종료하나요?', 'ko'],
    ['Как остановить зависший процесс в Linux?', 'ru'],
    ['Photosynthesis converts sunlight into chemical energy', 'en'],
  ])('%s → %s', (text, language) => {
    expect(detectLanguage(text)).toBe(language);
  });

  it('answers null when a text is too short to tell', () => {
    expect(detectLanguage('hi')).toBeNull();
    expect(detectLanguage('12345 !!!')).toBeNull();
  });
});
