// The compact n-gram model is eld's own: eld's detector over it answers exactly what eld answers with its
// shipped model, on texts in many languages and scripts and on pieces of them.
import { readFileSync } from 'node:fs';
import { eld } from 'eld/extrasmall';
import { describe, expect, it } from 'vitest';
import { compactEld } from '../../../src/moderation/eld-model.js';

const SENTENCES = [
  'How can I kill a Python process that is stuck?',
  'Comment est-ce que je peux arrêter un processus bloqué ?',
  'Wie kann ich einen Prozess beenden, der hängt?',
  '¿Cómo puedo detener un proceso que está bloqueado?',
  'Come posso fermare un processo bloccato sul server?',
  'Como posso parar um processo travado no servidor?',
  'Hoe kan ik een proces stoppen dat vastzit?',
  'Hur kan jag stoppa en process som har hängt sig?',
  'Hvordan kan jeg stoppe en prosess som henger?',
  'Kuinka voin pysäyttää jumiutuneen prosessin?',
  'Jak mogę zatrzymać proces, który się zawiesił?',
  'Jak mohu zastavit proces, který se zasekl?',
  'Hogyan állíthatok le egy lefagyott folyamatot?',
  'Cum pot opri un proces blocat pe server?',
  'Nasıl takılmış bir işlemi durdurabilirim?',
  'Bagaimana cara menghentikan proses yang macet?',
  'Làm thế nào để dừng một tiến trình bị treo?',
  'Как остановить зависший процесс в Linux?',
  'Як зупинити процес, що завис у системі?',
  'Как да спра процес, който е блокирал?',
  'Πώς μπορώ να σταματήσω μια διεργασία που κόλλησε;',
  'كيف يمكنني إيقاف عملية معلقة على الخادم؟',
  'چگونه می‌توانم یک فرایند گیر کرده را متوقف کنم؟',
  'איך אני יכול לעצור תהליך שנתקע?',
  'मैं एक अटकी हुई प्रक्रिया को कैसे रोक सकता हूँ?',
  'আমি কীভাবে একটি আটকে থাকা প্রক্রিয়া বন্ধ করতে পারি?',
  'நான் ஒரு சிக்கிய செயல்முறையை எப்படி நிறுத்துவது?',
  'ฉันจะหยุดกระบวนการที่ค้างได้อย่างไร',
  '今天天气怎么样？我想去公园散步。',
  'このプロセスを止める方法を教えてください',
  '이 프로세스를 어떻게 종료하나요?',
  'Photosynthesis converts sunlight into chemical energy',
  'Kif nista nwaqqaf proċess li waqaf?',
  'Ինչպե՞ս կարող եմ դադարեցնել կախված գործընթացը',
  'როგორ შევაჩერო გაჭედილი პროცესი?',
];

/** The public evaluation sets' prompts, when ../shared/data is beside the project (English, mostly). */
function sharedPrompts(): string[] {
  try {
    const csv = readFileSync(new URL('../../../../shared/data/xstest_prompts.csv', import.meta.url), 'utf8');
    return csv
      .split('\n')
      .slice(1, 301)
      .map((line) => line.split(',').slice(2, -3).join(','));
  } catch {
    return [];
  }
}

/** Each text, and its words taken two, three and five at a time: short and ambiguous pieces too. */
function corpus(): string[] {
  const texts = [...SENTENCES, ...sharedPrompts()];
  const out = new Set<string>(texts);
  for (const text of texts) {
    const words = text.split(/\s+/);
    for (const size of [2, 3, 5])
      for (let i = 0; i + size <= words.length; i++) out.add(words.slice(i, i + size).join(' '));
  }
  out.add(SENTENCES.join(' '));
  return [...out];
}

describe('the compact n-gram model', () => {
  it('answers what eld answers with its own model, language and reliability, on every text', async () => {
    const compact = await compactEld();
    const texts = corpus();
    expect(texts.length).toBeGreaterThan(500);
    const differ = texts.filter((text) => {
      const [a, b] = [eld.detect(text), compact.detect(text)];
      return a.language !== b.language || a.isReliable() !== b.isReliable();
    });
    expect(differ).toEqual([]);
  });
});
