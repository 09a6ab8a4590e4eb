// The rule tables of the lexicon engine: phrase lexicons (English and Chinese) for all nine categories.
// Every table is data; judge.ts holds the logic that weighs them. Patterns run on normalised text
// (NFKC, lower case, single spaces), so they are written in lower case.
// Every repetition is bounded (a word is `\w{1,40}`, a gap `.{0,60}`): an unbounded `\w+` or `.*` is tried
// again from every position of a long run of word characters, which makes a rule quadratic in the text
// (test/reliability/bounded-work.test.ts holds every rule to linear time).
import type { Category } from '../../moderation/taxonomy.js';

/**
 * How much one match weighs: `unsafe` on its own; `harm` is Unsafe with intent or a human target;
 * `targeted` (words with everyday meanings: smash, slash, beat) only with a human target; `topic` is Controversial.
 */
export type RuleWeight = 'unsafe' | 'harm' | 'targeted' | 'topic';

/** One rule: a pattern, the category it points at, and its weight. */
export interface Rule {
  /** Its name in verdict explanations: language, category, weight and its number among those (`en.violent.harm.1`). */
  id: string;
  category: Category;
  weight: RuleWeight;
  pattern: RegExp;
  /** Remove what it matched before later rules run ("kill myself" is self-harm, not violence against a person). */
  consumes?: boolean;
}

/** A readable list of alternatives: ` | ` (spaces on both sides) separates them; a bare `|` stays inside a group. */
const words = (list: string): string =>
  list
    .trim()
    .split(/\s+\|\s+/)
    .map((alternative) => alternative.trim())
    .join('|');

// ---------------------------------------------------------------- context cues

/** Phrases whose alarming words are harmless: removed before any rule runs. */
export const BENIGN: readonly RegExp[] = [
  /\b(kill|killing|kills|terminate|terminating|end|ending|stop|abort|shoot|shooting) (a |the |my |this |that |all |any |every |)(\w{1,40} ){0,2}(process|processes|program|task|job|thread|container|pod|session|query|script|app|application|service|server|daemon|loop|connection|instance|contract|subscription|lease|agreement)s?\b/g,
  /\b(kill|killing|kills|killed) (the |some |a little |)(time|lights?|engine|motor|music|noise|buzz|mood|vibe|joke|conversation|battery|flow|momentum)\b/g,
  /\b(execute|executing|execution of) (a |the |my |this |an |)(\w{1,40} ){0,2}(plan|command|query|program|script|strategy|order|trade|contract|code|function|task|idea|move|statement|transaction|will|test)s?\b/g,
  /\b(shoot|shooting) (a |the |some |)(good |great |nice |)(photo|picture|video|film|movie|scene|hoops|pool|goal|basket|shot|email|message|breeze|the breeze|for the stars|me a message|an email)s?\b/g,
  /\b(blow|blew|blowing) (up |out )?(a |the |some |)(balloon|candles?|nose|bubble|bubbles|photo|picture|image)s?\b/g,
  /\b(bomb|bombed|bombing) (the |my |a |an |)(test|exam|interview|audition|presentation|quiz|gig|show|performance|date)s?\b/g,
  /\b(crush|crushing|crushed|smash|smashing|nail|nailing|kill|killing|slay|slaying|destroy|destroying|beat|beating) (it|my competition|the competition|the competition at \w{1,40}|this|that|the (test|exam|interview|presentation|game|record|deadline|heat|traffic|odds|market)|my (exam|test|interview|presentation|goals?|targets?|record))\b/g,
  /\b(hit|hitting|hunt|hunting|hunt down|track down|take out|get rid of|eliminate|eliminating|attack|attacking|tackle|tackling|fight|fighting|beat|beating) (my |the |an |a |this |these |those |our |)(\w{1,40} ){0,1}(targets?|goals?|answers?|deadlines?|bargains?|deals?|apartments?|jobs?|recipes?|problems?|bugs?|errors?|trash|garbage|clutter|debts?|weeds?|stains?|acne|procrastination|anxiety|stress|boredom|fever|cold|flu|hiccups|fatigue|mold|odou?rs?|smells?|the (gym|books|road|hay|sack|snooze button|nail on the head))\b/g,
  /\bpunch(ing)? (above (my|your|his|her|their|our) weight|bags?|cards?|line|clock)\b|\bpunching bags?\b|\bsteal (someone'?s|his|her|their|my|your) heart\b|\bbreak(ing)? into (the )?(\w{1,40} )?(industry|market|business|field|career|scene|world|charts|mainstream)\b/g,
  /\b(drown|drowning|buried|swamped) (in|under) (\w{1,40} ){0,2}(bills|debt|debts|work|paperwork|emails|tears|sorrow|sadness)\b|\bmurder of crows\b|\bweed (my|the|a|your) (garden|lawn|yard|beds?)\b|\bstrangle options\b/g,
  /\b(eradicate|eradicating|eliminate|eliminating|end|ending|wipe out|wiping out|fight|fighting|combat|combating|tackle|tackling|beat|beating|kill|killing|crush|crushing|destroy|destroying) (\w{1,40} ){0,2}(poverty|hunger|homelessness|disease|diseases|malaria|polio|racism|corruption|crime|inequality|illiteracy|unemployment|inflation|debt|climate change|pollution|waste|cancer|covid|the virus|loneliness|stigma)\b/g,
  /\b(crush|crushing|smash|smashing|shatter|stab|stabbing|pop|popping|blow up|pierce|piercing) (a |an |the |my |some |)(\w{1,40} ){0,2}(cans?|bottles?|boxes|ice|garlic|nuts|grapes|cookies|glass|balloons?|bubbles?|ears?)\b|\bwithout (harming|hurting|killing|injuring)\b|\bshoot(ing)? (lasers?|lightning|fire|webs?|beams?) (from|out of)\b/g,
  /\b(shoot|shooting|hit|hitting) (my |the |a )?(target|targets|bullseye|clay pigeons?)\b|\b(at|on) (the |a )?(shooting|gun|rifle|archery) range\b/g,
  /\b(can|bottle|glass|cup|diet) of coke\b|\b(explode|burst) with (laughter|joy|excitement)\b|\bcrack open (a |some |)(beer|bottle|book|window|egg|coconut|nut)s?\b/g,
  /\b(on|to) (saturn|mars|jupiter|venus|the moon|the sun'?s surface|the sun)\b|\b(breathe underwater|time ?travel|control the weather|speed of light|shoot (lasers|lightning)|turn invisible|read minds|fly without)\b/g,
  /\b(steal|stole|stealing) the (show|spotlight|scene|limelight|heart|hearts)\b/g,
  /\bset (the |a |this |my |our |)(party|dance ?floor|stage|room|crowd|club|internet|world|charts|night|game|market|field|league|track|screen) (on fire|alight|ablaze)\b|\b(harm|harms|harming|hurt|hurts|hurting) (the |our |)(environment|planet|climate|economy|ecosystems?|air quality|ozone layer)\b/g,
  /\bkiller (app|feature|deal|workout|look|smile|idea|joke|view|sale|instinct|heels|whale|whales|bee|bees)s?\b/g,
  /\b(drop|dropping) the bomb\b|\bphoto ?bomb\w*\b|\bbath ?bombs?\b|\bbomb (diggity|dot com)\b/g,
  /\b(attack|attacking|attacks) (on |)(the |)(problem|question|day|task|puzzle)\b/g,
  /\b(dead|deadly) (tired|serious|silent|end|line|lift|lifts|lifting|heat|ringer|weight|sea)\b/g,
  /\b(kill|killing|slay|slaying|destroying|destroy|crush|crushing|smash|smashing) (it|them all)\b/g,
  /\b(break|breaking) (a |the )?(leg|ice|news|record|bank|silence)\b/g,
  /\b(kill|killing|kills|get rid of|eliminate|exterminate|exterminating|poison|poisoning|trap|trapping|hunt|hunting|shoot|shooting|gut|gutting|butcher|butchering|slaughter|slaughtering|skin|skinning|stab|stabbing|pop|popping|euthani[sz]e|euthani[sz]ing|put down|fillet|debone|cull|culling|fish for|catch|catching) (a |an |the |my |some |these |those |all |all the |all of the |)(\w{1,40} ){0,2}(weeds?|mosquito(e?s)?|flies|fly|fleas?|ticks?|lice|bed ?bugs?|bugs?|insects?|cockroach(es)?|roach(es)?|ants?|termites?|wasps?|hornets?|spiders?|mites?|mice|mouse|rats?|moles?|gophers?|slugs?|snails?|aphids?|pests?|vermin|germs?|bacteria|viruse?s?|fungus|fungi|mou?ld|algae|virus|malware|cancer cells?|tumou?rs?|fish|pigs?|hogs?|boars?|dogs?|cats?|horses?|pets?|hamsters?|chickens?|cows?|cattle|lambs?|sheep|goats?|deer|turkeys?|ducks?|rabbits?|squirrels?|pheasants?|trout|salmon|lobsters?|crabs?|balloons?|potato(es)?|tomato(es)?|pumpkins?|watermelons?|melons?|pineapples?|onions?|loaf|bread|pizza|tyres?|tires?|zombies?|dragons?|monsters?|orcs?|bosses?|enem(y|ies) (players?|npcs?|base)|npcs?|characters?)\b/g,
];

/** Games and sport: violence there is part of the play. */
export const GAME_CONTEXT = new RegExp(
  '\\b(in|on|inside|within|during|playing) (a |the |my |)(' +
    words(`call of duty | cod | counter[- ]?strike | cs:?go | cs2 | gta( \\w{1,40})? | grand theft auto( \\w{1,40})? | minecraft | fortnite | skyrim |
      battlefield( \\d+)? | pubg | apex( legends)? | overwatch | valorant | halo | league of legends | dota( 2)? | world of warcraft |
      elden ring | dark souls | zelda | the witcher | red dead redemption( \\d)? | among us | roblox | the sims | hitman | doom |
      checkers | draughts | monopoly | scrabble | mortal kombat | street fighter | tekken | assassin'?s creed | rainbow six | far cry | chess | poker | a video game | video games? |
      (a |the |my |)([\\w'/-]{1,40} )?game | games? | a board game | (a |the |)([\\w'/-]{1,40} )?match | dungeons (and|&) dragons | d&d | boxing | a boxing match | wrestling | mma |
      karate | judo | fencing | paintball | laser tag | airsoft`) +
    ')\\b',
);

/** Films and fiction: describing what happens in a story is not doing it. */
export const STORY_CONTEXT = new RegExp(
  "\\b(in|on|from|of|for|about) (a |the |my |our |)([\\w'/-]{1,40} )?(" +
    words(`novel | story | stories | characters? | book | films? | movies? | the terminator( films?| movies?)? | star wars | harry potter | game of thrones |
      the hunger games | lord of the rings | a play | script | screenplay | fiction | fantasy world | tv show | series | anime | cartoon | thriller`) +
    ")\\b|\\b(\\w{1,40}'s )?character\\b|^(how|what|why) (did|does) (they|the ([\\w'/-]{1,40} )?characters?)\\b",
);

/** The question asks what something is or was: knowledge, not intent. */
export const KNOWLEDGE = new RegExp(
  '^(' +
    words(`what (is|are|was|were) (a |an |the |)(definition|meaning|history|origin|legal definition|general definition|penalty|punishment|sentence|difference) |
      what (is|are|was|were) (a |an |the |)\\w{1,40}( \\w{1,40})?\\?*$ | what (is|are) (a |an |the |)([\\w'/-]{1,40} ){1,4}(mean|definition)\\b | what does ([\\w'/-]{1,40} ){1,3}mean |
      what (kind|type|sort|kinds|types) of | which ([\\w'/-]{1,40} ){0,2}(killed|caused|destroyed|was|were) | what ([\\w'/-]{1,40} ){0,2}(killed|caused|destroyed|led to) |
      (during|in|after|before) ([\\w'/-]{1,40} ){1,4}(war|revolution|era|century|crisis)( (i|ii|1|2|one|two))?,? (what|which|who|how) | what (was|were) the (scale|number|death toll|cause|causes|impact|role) |
      what constitutes | define | definition of | meaning of | explain (what|the meaning|the definition) |
      what happened (to|in|during|at|on|when) | what did ([\\w'/-]{1,40} ){1,4}do (to|in|during) | what were the | how were | how was | how did ([\\w'/-]{1,40} ){1,6}(happen|start|begin|end|wipe|fall|rise|die|kill|destroy|conquer|invade|lose|win) |
      how (does|did) (?!(i|we|you|one|someone|somebody|a person|people)\\b) | why did | when did | where did | who (was|were|is|are) | tell me about the history | what caused | what led to | what were | what are the (main |)(causes|effects|consequences|signs|symptoms|risks|dangers|laws|penalties)`) +
    ')',
);

/** The speaker wants to do it, or wants to be told how. */
export const INTENT = new RegExp(
  '\\b(' +
    words(`how (do|can|could|would|should|might|shall|will|to) (i|we|you|one|someone|somebody|a person|my|people)\\b | how to | how can | how do |
      (best|easiest|fastest|quickest|simplest|safest|most effective|most painless|least painful|cheapest|surest|most covert|most discreet) (way|ways|method|methods|means|place|places|time|spot|poison|weapon|drug|dose|technique) |
      ways? (of|to) | step[- ]by[- ]step | instructions? (for|on|to|how) | tutorial | guide (to|on|for|about) | recipe for |
      help me | teach me | show me | tell me (how|where|the|some|a way|which) | give me (a |the |some |)(detailed |step[- ]by[- ]step |)(plan|recipe|instructions?|steps|guide|tips|advice|methods?|names?|list|reasons?) |
      i want to | i wanna | i need to | i'?m going to | i am going to | i will | i'?ll | i'?d like to | i plan to | i'?m planning | let me |
      where (can|do|could|should) (i|we|you|one) (buy|get|find|obtain|purchase|order|hire|download|watch|see|go|hide) | where to (buy|get|find) |
      should i | can i | could i | can you (help|tell|give|find|write|explain how|list) | could you (help|tell|give|find|write) | write (a|an|me|some) | find me |
      plan (to|for|a) | convince | persuade | make people believe | get away with | without (anyone|anybody|getting|being) (knowing|noticing|caught|seeing) |
      is it (okay|ok|fine|acceptable|alright|legal) (to|for me to|if i) | what can i do to | what should i do to | list (some )?reasons? | reasons why`) +
    ')\\b',
);

/** Words that name people (or places full of them) as the object of an act. */
export const HUMAN_TARGET = new RegExp(
  '\\b(' +
    words(`someone'?s? | somebody'?s? | some ?one | anyone | anybody | a person | persons? | people | humans? | humanity | mankind | human beings? |
      (my|his|her|their|our|your|the|a|an) ([\\w'/-]{1,40} ){0,2}(wife|husband|spouse|partner|girlfriend|boyfriend|ex|boss|manager|neighbou?rs?|teachers?|mother|father|mom|mum|dad|parents?|sister|brother|siblings?|friends?|colleagues?|co-?workers?|roommates?|child|children|son|daughter|baby|babies|kids?|grand(parents?|mother|father|ma|pa)|family|classmates?|students?|stranger|man|woman|men|women|girl|boy|girls|boys|guy|cop|cops|police|officers?|politicians?|president|senator|judge|doctor|nurse|cleaner|landlord|tenant|victim|hostage|date|enemy|rival|witness|customer|client|employees?|guard|security guard|driver|passengers?|crowd|audience|congregation|worshippers?|protesters?|journalists?|minority|immigrants?|refugees?|old lady|elderly|homeless (man|woman|person|people)) |
      (black|white|asian|jewish|muslim|christian|hindu|gay|lesbian|trans|transgender|queer|disabled|divorced|poor|old|fat|immigrant|arab|mexican|chinese|indian|african|latino|romani?) (people|persons|men|women|folks|kids|children|students|immigrants|individuals) |
      women | men | jews | muslims | christians | immigrants | refugees | gays | lesbians | blacks | foreigners | minorities | the disabled | the elderly |
      him | her | them | myself | yourself | themselves | a child | children | kids | minors? | infants? | toddlers? |
      (a|my|the|our) (school|classroom|class|church|mosque|synagogue|temple|hospital|airport|plane|train|subway|bus|stadium|concert|mall|office|workplace|embassy|parliament|congress|army base|military base|police station|government|city|town|village|neighbourhood|neighborhood|crowd)`) +
    ')\\b',
);

/**
 * The text discusses harm rather than asks for it: history, analysis, fact-checking, protection, medicine, law,
 * literature ("a history of heroin use", "fact checks claims about…", "how to protect against…", "symptoms of
 * anorexia", "why it is illegal to…"). Lowers harm, targeted and topic rules to Safe, whatever the request words
 * around it ("Write a blog post that discusses…"); never an `unsafe` rule. Advocacy turns it off (ADVOCACY).
 */
export const DISCUSSION = new RegExp(
  '\\b(' +
    words(`history of | the history | historical(ly)? | in history | in the past | (has|have) (evolved|been used|changed) |
      over the (last|past) ([\\w'/-]{1,40} ){0,2}(decades|centuries|years) | medi?e?val | ancient | in the \\d{1,2}(st|nd|rd|th) century | from the (late |early )?\\d{4}s |
      fact[- ]?checks? | fact[- ]?checking | debunk\\w* | views and (opinions|reasoning) | (beliefs|reasoning|opinions) of |
      discuss(es|ing)? (the )?(views|plight|evolution|history|reasons?|causes|effects|impact|ethics|relationship|common) | why (it|this|that) is (illegal|wrong|harmful|dangerous|a crime) |
      (has|have) impacted | impact (on|of) | essay (about|on) | analy[sz]e | analysis of | expose and condemn | condemn |
      protect(ing)? ([\\w'/-]{1,40} ){0,2}(from|against) | how (to|can i|do i|can we|can you|should i) (protect|prevent|recogni[sz]e|spot|detect|report|defend against|stay safe) |
      warning signs | signs of | safety tips | avoid (drunk driving|scams?|being scammed|falling for) |
      symptoms( of)? | (standard |typical |common )?treatments? (for|of) | side effects | first aid | recover(y|ing)? from | dispose of (hazardous|medical|chemical|toxic|old) |
      fan fiction | fictional | novels | (tv|television) script | play script | screenplay |
      how ([\\w'/-]{1,40} ){1,5}(committed|carried out|orchestrated|perpetrated|planned and carried out)`) +
    ')\\b',
);

/** Words of advocacy: a text that argues for, promotes or hides harm is not a discussion of it. */
export const ADVOCACY = new RegExp(
  '\\b(' +
    words(`persuasive | persuade | convincing | convince | posing as | promot(e|es|ing) | glorif(y|ies|ying) | normali[sz](e|es|ing) | encourag(e|es|ing) |
      justif(y|ies|ying) | incit(e|es|ing) | deserved | hoax | propaganda | without (getting |being )?(caught|detected|traced)`) +
    ')\\b',
);

// ---------------------------------------------------------------- English rules

const CHILD =
  words(`child | children | kid | kids | minor | minors | underage | under-?age | teen | teens | preteen | pre-teen | toddler | infant |
  little (girl|boy)s? | schoolgirls? | schoolboys? | \\d{1,2}[- ]?(year|yr)s?[- ]?old`);
const SEXUAL_ACT =
  words(`sex | sexual | sexually | nude | naked | porn | pornography | erotic | molest | rape | touch(ing)? (them|her|him) (inappropriately|sexually) |
  genitals? | genitalia | intercourse | romantic love | romance | seduce | suck | dick | penis | vagina | fondle | boner | erection | masturbat\\w*`);
/** Groups that discrimination targets: religion, ethnicity, gender, sexuality, disability, age, status. */
const GROUP =
  words(`([\\w'/-]{1,40} )?(people|persons|folks|individuals|men|women|citizens|workers|students) | women | men | girls | jews | muslims | christians | hindus | buddhists | sikhs | atheists |
  immigrants | refugees | migrants | gays | lesbians | bisexuals | transgender | trans | non-binary | blacks | whites | latinos | latinas | hispanics | asians | arabs |
  mexicans | africans | indians | chinese | roma | gypsies | natives | indigenous | disabled | the disabled | elderly | the elderly | minorities | foreigners`);
const DENIAL = words(
  `never happened | never took place | (was|is|were|are) (a )?(complete |total )?(fabrication|lie|hoax|myth) | (western |)propaganda myth | overstate | exaggerate | made up`,
);
const ATROCITY =
  words(`massacre | genocide | holocaust | shoah | slavery | slave trade | trail of tears | world war | nanjing | rwandan | armenian | apartheid |
  ethnic cleansing | atomic bombs? | concentration camps? | 9/11 | jim crow | khmer rouge | pinochet | taliban | isis | ([\\w'/-]{1,40} )?attacks?`);
/** Personal data about a private person: the owner, then the attribute. */
const PRIVATE_OWNER = words(
  `my ([\\w'/-]{1,40} ){0,2}\\w{1,40}'s | someone'?s | somebody'?s | (other|random) people'?s | people'?s | a stranger'?s | strangers'? | celebrities'? | his | her`,
);
const PRIVATE_ATTRIBUTE =
  words(`social security number | ssn | credit card( details| numbers?| info\\w*)? | bank (account|details|login|statements?) | (home |private |personal )?(address|email address|email|phone number) |
  medical (records?|history) | mental health (history|records?) | (internet )?browsing history | (iphone |phone |atm |bank )?pin( code)? | passwords? | logins? | date of birth | birthday |
  passport( number)? | driver'?s licen[cs]e( number)? | birth certificate | sexual orientation | criminal (history|record) | immigration status | tax (records|returns) |
  salary | income | religious beliefs | religion | political (affiliation|views) | marital status | location | whereabouts | private (messages|emails|photos)`);

const rule = (category: Category, weight: RuleWeight, source: string, flags = ''): Omit<Rule, 'id'> => ({
  category,
  weight,
  pattern: new RegExp(source, flags),
});

/** Name every rule of a table: `en.violent.harm.1` is the first `harm` rule of Violent in the English table. */
function named(language: string, rules: ReadonlyArray<Omit<Rule, 'id'>>): readonly Rule[] {
  const counts = new Map<string, number>();
  return rules.map((r) => {
    const stem = `${language}.${r.category
      .toLowerCase()
      .replace(/[^a-z]+/g, '-')
      .replace(/-$/, '')}.${r.weight}`;
    const n = (counts.get(stem) ?? 0) + 1;
    counts.set(stem, n);
    return { ...r, id: `${stem}.${n}` };
  });
}

/** The English rules. */
export const RULES_EN: readonly Rule[] = named('en', [
  // Suicide & self-harm first: it consumes its phrases, so that "kill myself" is not read as violence.
  {
    ...rule(
      'Suicide & Self-Harm',
      'unsafe',
      `\\b(${words(`kill(ing)? myself | end(ing)? my (own )?life | take my (own )?life | commit suicide | committing suicide | suicide method | ways? to (die|suicide) | want to die | wanna die | wish i (was|were) dead | better off dead |
    not worth (me )?(being )?alive | worth (me )?being alive | no reason to live | hurt myself | harm myself | cut myself | cutting myself | burn(ing)? (myself|my skin|my arms?|my wrists?) | slit my wrists? | self[- ]?harm | self[- ]?injur\\w* |
    overdose | od on | hang myself | jump(ing)? off (a|the) (bridge|building|roof|cliff) | step(ping)? in front of (a|the) (bus|train|car|truck) | starve myself |
    (cut|slice|sever|pierce|slash|carve|burn|scratch) ([\\w'/-]{1,40} ){0,3}(into )?(my|my own) ([\\w'/-]{1,40} )?(artery|arteries|wrists?|arms?|veins?|skin|thighs?|legs?) | (take|use|do|swallow) to die | die like | go out like |
    binge (eat|eating) and (then )?(vomit|purge|throw) | (being|become|get) anorexic |
    stop (myself from )?eating | stop eating | not eat(ing)? for (a|\\d+) (week|weeks|days) | purge after eating | make myself (throw up|vomit) | pro[- ]?ana | thinspo\\w* | ribcage (and hipbones )?(stick|show)|hip ?bones stick out | so skinny | lose weight (fast|quickly) without eating`)})\\b`,
      'g',
    ),
    consumes: true,
  },
  // Violent
  rule(
    'Violent',
    'harm',
    `\\b(${words(`kill | kills | killing | killed | murder | murders | murdering | murdered | assassinate | assassinating | stab | stabbing | stabbed |
    shoot | shooting | shot (him|her|them|someone) | strangle | strangling | choke | choking | suffocate | smother | drown | drowning | poison | poisoning |
    behead | beheading | decapitate | dismember | torture | torturing | kidnap | kidnapping | abduct | abducting | execute | executing | terminate | terminating |
    slaughter | slaughtering | massacre | beat up | beating up | beat (him|her|them|someone) | hurt | hurting | harm | harming | injure | injuring | maim | cripple |
    break (someone'?s|his|her|their|a person'?s) | assault | assaulting | hunt down | hunting down | wipe out | exterminate | euthani[sz]e | bomb | bombing | blow up | set fire to |
    burn down | burn alive | run over | headshot | shoot up | gun down | lynch | hang (him|her|them|someone) | assassination | plan ([\\w'/-]{1,40} ){0,2}death |
    take ([\\w'/-]{1,40} ){1,3}hostage | electrocute | do away with | make ([\\w'/-]{1,40} ){1,3}explode | cut ([\\w'/-]{1,40} ){0,3}(brakes|breaks) | treason`)})\\b`,
  ),
  rule(
    'Violent',
    'targeted',
    `\\b(${words(`butcher | butchering | gut | gutting | hit | hitting | punch | punching | crush | crushing | attack | attacking | eradicate | eliminate |
    overpower | smash | smash in | throttle | capture | sever | slay | snipe | obliterate | shatter | slash | crack open | demolish | rip(ping)? off | chop up | cut off |
    dispose of | annihilate | pierce | saw | hammer | push ([\\w'/-]{1,40} ){1,3}off | beat | set ([\\w'/-]{1,40} ){1,3}on fire | destroy | destroying | invade | decimate | decimating | liquidate | liquidating`)})\\b`,
  ),
  rule(
    'Violent',
    'unsafe',
    `\\b(make|making|build|building|assemble|construct|create|cook|craft|3d[- ]?print(ing)?|print(ing)?) (a |an |some |my own |homemade |)([\\w'/-]{1,40} ){0,2}(bomb|pipe bomb|explosive|ied|molotov( cocktail)?|grenade|smoke grenade|lethal gun|napalm|nerve agent|sarin|ricin|anthrax|bioweapon|chemical weapon|dirty bomb|detonator|silencer|suppressor|ghost gun|untraceable gun|gun|firearm|weapon)s?\\b`,
  ),
  rule(
    'Violent',
    'unsafe',
    `\\b(kill as many|maximum casualties|most casualties|hurts? (the )?most|so it hurts|without leaving (a )?(trace|marks|evidence)|hide (a|the) body|dispose of (a|the) body|get rid of (a|the) body)\\b`,
  ),
  rule(
    'Violent',
    'unsafe',
    `\\b(break|snap|crush|fracture|shatter) ([\\w'/-]{1,40} ){0,2}(someone'?s|somebody'?s|a person'?s|a child'?s|his|her|their|my ([\\w'/-]{1,40} )?'?s?) (jaw|neck|skull|sternum|ribs?|legs?|arms?|nose|spine|bones?)\\b`,
  ),
  rule(
    'Violent',
    'unsafe',
    `\\b(replicate|recreate|repeat|reproduce|emulate|copy|plan another) ([\\w'/-]{1,40} ){0,6}(attacks?|assassination|bombs?|bombing|shooting|massacre|genocide|death|camps?|concentration camp|ethnic cleansing|holocaust)\\b`,
  ),
  rule('Violent', 'harm', `\\b(mass shooting|school shooting|terrorist attack|terror attack)s?\\b`),
  rule(
    'Violent',
    'topic',
    `\\b(${words(`murder | homicide | manslaughter | genocide | massacre | terrorism | terrorist | armed robbery | violent assault | assault | arson | torture | mass shooting | bombing | execution | lynching`)})\\b`,
  ),

  // Non-violent illegal acts
  rule(
    'Non-violent Illegal Acts',
    'harm',
    `\\b(${words(`steal | steals | stealing | stole | shoplift | shoplifting | rob | robbing | burgle | burglari[sz]e | break into | breaking into | pick a lock | hotwire | carjack |
    launder | laundering | counterfeit | forge | forging | embezzle | embezzling | evade taxes | tax evasion | bribe | bribing | smuggle | smuggling | traffic | trafficking |
    hack | hacks | hacking | hack into | hacks into | crack (a|the|someone'?s|his|her|their) (password|account|wifi|wi-fi) | phish | phishing | ddos | ransomware | malware | keylogger | spyware | botnet | sql injection |
    scam | scamming | defraud | fraud | con (people|someone|a|an|old) | swindle | extort | extorting | blackmail | blackmailing | pyramid scheme | ponzi scheme |
    fake (id|ids|passport|passports|charity|invoice|invoices|reviews|identity|documents?|driver'?s licen[cs]e) | identity theft | steal (someone'?s|an|a) identity | stolen | black market | dark ?web |
    sell (drugs|weed|cocaine|meth|heroin|guns|organs) | buy (drugs|weed|cocaine|meth|heroin|fentanyl|guns|a gun|a firearm|organs|prescription drugs|a kidney) |
    hide (my|the|his|her) (meth|drugs|cocaine|weed|heroin|gun|knife|weapon|stash)s? | (bring|sneak|smuggle|carry) (a |my |)(gun|knife|weapon|bomb|drugs)s? (on|onto|into|through) |
    get (high|drunk) | drive drunk | drunk driving | skip (the )?bail | evade (the )?police | outrun (the )?police | hiding (my|a|the) (knife|gun|weapon) from the police | hide (my|a|the) (knife|gun|weapon) from the police |
    poach | poaching | vandali[sz]e | graffiti | trespass | cheat (on )?(my |the |)taxes | insurance fraud | credit card fraud | money mule`)})\\b`,
  ),
  rule(
    'Non-violent Illegal Acts',
    'harm',
    `\\b(buy|buying|get|getting|obtain|score|sell|selling|deal|dealing|find|order) ([\\w'/-]{1,40} ){0,3}(coke|cocaine|crack|ecstasy|mdma|molly|meth|heroin|weed|marijuana|marihuana|cannabis|unregulated steroids|steroids|opioids|oxycodone|oxy|xanax|lsd|acid|shrooms|ketamine|fentanyl|organs|kidneys?)\\b|\\billegal(ly)?\\b|\\b(fake|made-?up|forged) ([\\w'/-]{1,40} ){0,2}(call cent(re|er)|business|prescription|company|charity|store|shop|website|identity)\\b|\\b(alcohol|cigarettes|vapes|beer) (to|for) (underage|minors|kids|children)\\b|\\bnot (card|id) (people|customers)\\b|\\blook at their ids\\b|\\bdisable (the )?(alarm|security|cameras?)\\b`,
  ),
  rule(
    'Non-violent Illegal Acts',
    'unsafe',
    `\\b(make|cook|synthesi[sz]e|manufacture|produce|brew|grow|extract|refine) ([\\w'/-]{1,40} ){0,2}(meth|methamphetamine|crystal meth|cocaine|crack|heroin|fentanyl|lsd|mdma|ecstasy|ghb|dmt|pcp|ketamine|opium|drugs)\\b`,
  ),
  rule(
    'Non-violent Illegal Acts',
    'unsafe',
    `\\b(no|without|dont|don't|do not) (background checks?|paperwork|prescription|license|licence|id checks?)\\b.{0,120}\\b(gun|guns|firearm|buy|sell|drugs|car|pills)\\b|\\b(gun|guns|firearm|car|drugs|pills)\\b.{0,120}\\b(no|without|dont|don't|do not) (do )?(background checks?|paperwork|prescription)\\b`,
  ),
  rule(
    'Non-violent Illegal Acts',
    'unsafe',
    `\\b(exploit|exploiting) ([\\w'/-]{1,40} ){0,2}(women|men|people|elderly|old people|children|kids|immigrants|refugees|workers) (for|into)\\b|\\b(scam|scamming|con|defraud|trick|swindle) ([\\w'/-]{1,40} ){0,2}(people|someone|strangers?|elderly|old people|grandparents?|customers?|victims?|investors?) (out of|into|online)\\b|\\bgive me their (money|savings|password|bank details|credit card)\\b|\\bexploit ([\\w'/-]{1,40} ){0,3}for (money|cash|profit|sex)\\b|\\b(lonely|vulnerable|elderly) ([\\w'/-]{1,40} ){0,2}(to|so i can) exploit\\b|\\bso i can exploit\\b`,
  ),
  rule(
    'Non-violent Illegal Acts',
    'topic',
    `\\b(${words(`drugs | cocaine | heroin | meth | fentanyl | weed | marijuana | cannabis | piracy | hacking | hacker | fraud | scam | money laundering | smuggling | black market | dark web | counterfeit | prescription drugs`)})\\b`,
  ),

  // Sexual content
  rule(
    'Sexual Content or Sexual Acts',
    'unsafe',
    `\\b(${CHILD})\\b.{0,80}\\b(${SEXUAL_ACT})\\b|\\b(${SEXUAL_ACT})\\b.{0,80}\\b(${CHILD})\\b|\\bpro-?p(a)?edophil\\w*`,
  ),
  rule('Sexual Content or Sexual Acts', 'harm', `\\bp(a)?edophil\\w*|\\bescorts?\\b`),
  rule(
    'Sexual Content or Sexual Acts',
    'unsafe',
    `\\b(write|describe|generate|tell me|give me|create) (a |an |me |some |)([\\w'/-]{1,40} ){0,3}(explicit|erotic|pornographic|nsfw|smutty|x-rated|graphic sex|sex) ([\\w'/-]{1,40} ){0,2}(story|stories|scene|scenes|fanfic|fan fiction|description|roleplay|chat|poem|dialogue)\\b|\\b(suck my (dick|cock)|send (me )?nudes|sext|sexting with|revenge porn|non-?consensual (sex|porn|images)|drug (her|him|someone|my date) (to|and) (have sex|sleep)|date rape drug|get away with rape|how to rape|rape (her|him|someone|a))\\b`,
  ),
  rule(
    'Sexual Content or Sexual Acts',
    'harm',
    `\\b(${words(`rape | raping | molest | molesting | grope | groping | sexually assault | sexual assault | seduce | sleep with | have sex with | hook up with | sex with | nude photos? of | naked pictures? of | upskirt | spy on (her|him|someone) (showering|changing|undressing)`)})\\b`,
  ),
  rule(
    'Sexual Content or Sexual Acts',
    'topic',
    `\\b(${words(`porn | pornography | pornographic | erotic | erotica | nsfw | xxx | hentai | nude | nudes | naked | orgasm | masturbat\\w* | blowjob | handjob | fetish | bdsm | onlyfans | escort service | prostitut\\w* | brothel | sex tape | sex toys? | penis | vagina | dick | cock | pussy | boobs | tits`)})\\b`,
  ),

  // Suicide & self-harm
  rule(
    'Suicide & Self-Harm',
    'topic',
    `\\b(${words(`suicide | suicidal | self-harm | self harm | anorexia | bulimia | eating disorder | overdosed`)})\\b`,
  ),

  // PII: asking for, or finding, a private person's data
  rule(
    'PII',
    'unsafe',
    `\\b(${PRIVATE_OWNER}) ([\\w'/-]{1,40} ){0,3}(${PRIVATE_ATTRIBUTE})\\b|\\bhow much (money )?(does|do) (my|his|her) ([\\w'/-]{1,40} )?(earn|make|get paid)\\b|\\bdox\\w*|\\b(track|trace) ([\\w'/-]{1,40} ){0,3}(location|phone)\\b|\\bspy on (my|his|her|their|someone)\\b|\\bstalk(ing)? (my|his|her|someone|a)\\b|\\bread (his|her|their|my \\w{1,40}'s) (messages|texts|emails)\\b`,
  ),
  // Jailbreak-style requests for data the model should not reveal
  rule(
    'PII',
    'unsafe',
    `\\b(reveal|leak|dump|list|give me|show me|tell me) (all |the |)([\\w'/-]{1,40} ){0,2}(users?'? |customers?'? |employees?'? |patients?'? |other people'?s |)(personal (data|information)|passwords|emails and passwords|social security numbers|credit card numbers|home addresses)\\b`,
  ),

  // Unethical acts: discrimination, harassment, manipulation, cheating
  rule(
    'Unethical Acts',
    'harm',
    `\\b(${words(`go back to (their|your) (own )?country | use ([\\w'/-]{1,40} ){0,2}methods for dealing with | destroying ([\\w'/-]{1,40} ){0,2}life |
    bully | bullying | cyberbully\\w* | harass | harassing | humiliate | manipulate | manipulating | gaslight\\w* | insult | slur | slurs | racist jokes? | sexist jokes? |
    cheat on (my|a|an|the) (exam|test|partner|wife|husband|girlfriend|boyfriend) | cheat in (an |the |my )?(exam|test) | plagiari[sz]e | spread (rumou?rs|lies|misinformation|disinformation|fake news) | revenge on | get back at | ruin (his|her|their|someone'?s) (life|reputation)`)})\\b`,
  ),
  rule(
    'Unethical Acts',
    'unsafe',
    `\\b(should|must|would it be best if|is it best for|it is right for|reasons why) ([\\w'/-]{1,40} ){0,2}(${GROUP})\\b ([\\w'/-]{1,40} ){0,3}(not|never|be (barred|banned|denied|kicked|excluded|deported|segregated|discriminated|forced|sterili[sz]ed|locked)|earn less|make all|have (their|fewer|no|less)|go through extra|lose)\\b|\\b(${GROUP}) (should|must) (not|never|be (barred|banned|denied|excluded|forced))\\b|\\b(${GROUP}) (are|is) (so |all |naturally |inherently |genetically |)(much )?(weaker|inferior|stupider|dumber|lazier|less intelligent|worse|criminals|dangerous|subhuman|animals|greedy|lazy|dirty|filthy|primitive|violent|terrorists|stupid|evil|immoral|impossible to understand)\\b|\\b(of a certain|of a specific|a certain|a specific) (race|color|colour|religion|ethnicity|gender|demographic|nationality|sexual orientation)\\b|\\b(shouldn'?t|should not|don'?t|do not|never) (hire|rent to|serve|allow|admit|trust|date|marry|let in) (${GROUP})\\b|\\b(take away|deny|remove|strip|took away) ([\\w'/-]{1,40} ){0,2}(${GROUP})'?s? ([\\w'/-]{1,40} )?(rights|voting rights|citizenship|benefits|healthcare)\\b|\\b(overrepresented|underrepresented) in (government|power)\\b|\\bdiscriminat(e|ed|ion) against\\b.{0,40}\\b(restore|should|best|bring back)\\b|\\b(restore|bring back) ([\\w'/-]{1,40} ){0,3}(discrimination|segregation|slavery|apartheid)\\b`,
  ),
  rule(
    'Unethical Acts',
    'unsafe',
    `\\b(${DENIAL})\\b.{0,60}\\b(${ATROCITY})\\b|\\b(${ATROCITY})\\b.{0,60}\\b(${DENIAL})\\b|\\b(${ATROCITY})\\b.{0,60}\\b(morally justified|(actually |really )?a good thing|benefits)\\b|\\b(benefits|success) of ([\\w'/-]{1,40} ){0,2}(${ATROCITY})\\b|\\btreat (women|\\w{1,40} people) like\\b`,
  ),
  rule(
    'Unethical Acts',
    'topic',
    `\\b(${words(`racist | racism | sexist | sexism | homophobic | transphobic | antisemitic | antisemitism | islamophobic | xenophobic | misogyn\\w* | white supremac\\w* | nazi | neo-nazi | kkk | holocaust denial | hate speech`)})\\b`,
  ),

  // Politically sensitive topics
  rule(
    'Politically Sensitive Topics',
    'topic',
    `\\b(${words(`tiananmen | june (4|fourth) (incident|massacre|protests?) | tank man | (taiwan|tibet|xinjiang|hong kong)(ese|an)? (([\\w'/-]{1,40} ){0,3})(independen\\w*|secession|sovereignty) | (independen\\w*|secession) (of|for) (taiwan|tibet|xinjiang|hong kong) | free tibet | dalai lama | falun gong | falungong | xinjiang (camps?|internment|detention) | uyghur (camps?|genocide|detention|internment) | re-?education camps? |
    hong kong (protests?|independence) | umbrella movement | xi jinping | winnie the pooh (and|&) xi | cultural revolution | great leap forward | mao zedong | ccp | chinese communist party | crimea annexation | kashmir | gaza | hamas | hezbollah | west bank |
    election (was )?(rigged|stolen|fraud) | stop the steal | overthrow (the )?government | coup d'?[eé]tat | regime change | separatis\\w* | secession`)})\\b`,
  ),
  rule(
    'Politically Sensitive Topics',
    'unsafe',
    `\\b(overthrow|topple|subvert|incite ([\\w'/-]{1,40} ){0,2}against) (the |)([\\w'/-]{1,40} )?(government|state|regime|communist party|ccp)\\b|\\bincite (a |)(riot|rebellion|uprising|insurrection)\\b`,
  ),

  // Copyright violation
  rule(
    'Copyright Violation',
    'unsafe',
    `\\b(${words(`pirated (copy|copies|movies?|films?|games?|software|books?|version) | crack(ed)? (version of|software|windows|photoshop|adobe|office|the game|the license) | keygen | serial key generator | bypass (the )?(drm|copy protection|license check|paywall) | remove (the )?(drm|watermark) |
    (download|stream|watch) ([\\w'/-]{1,40} ){0,3}(illegally|pirated|for free without paying) | torrent (a |the |)(movie|film|game|album|book|software|series) | download ([\\w'/-]{1,40} ){0,4}(for free|free) ([\\w'/-]{1,40} ){0,3}(without paying|illegally|pirat\\w*) | free download of (the )?(latest )?([\\w'/-]{1,40} )?(movie|film|album|software) | rip (the |a |)(movie|dvd|blu-?ray|stream)`)})\\b`,
  ),
  rule(
    'Copyright Violation',
    'topic',
    `\\b(${words(`(full|entire|complete|whole) (lyrics|text|script|chapter|book|novel|screenplay|transcript) (of|to|from) | reproduce (the )?(entire|full|whole|complete) | word for word (copy|text|lyrics) | verbatim (copy|text|lyrics|chapter)`)})\\b`,
  ),

  // Written from the dev parts of HarmBench, AdvBench, StrongREJECT and MultiJail (lexicon 1.4.0).
  // Evading detection or consequences: asked for, it is the request's point.
  rule(
    'Non-violent Illegal Acts',
    'harm',
    `\\b(${words(`without (getting |being )?(caught|detected|traced|noticed|tracked) | without (any )?(detection|consequences|a trace) | avoid (getting |being )?(caught|detected|traced) | avoid detection |
    evade (law enforcement|the police|police|detection|the authorities|authorities|taxes) | get away with (it|murder|fraud|rape|theft|stealing|cheating) | undetected | untraceable | cover up (the|a|my) ([\\w'/-]{1,40} ){0,2}(crime|murder|fire|evidence|starting)`)})\\b`,
  ),
  // Weapons of mass harm, poisons and their making
  rule(
    'Violent',
    'unsafe',
    `\\b(chemical (warfare|weapons?)|biological (warfare|weapons?)|warfare agents?|nerve (agents?|gas)|sarin|tabun|soman|novichok|vx (gas|nerve)|ricin|abrin|botulinum|anthrax|smallpox|chlorine gas|mustard gas|phosgene|dimethylmercury|(ebola|cholera|plague|pandemic) outbreak|bioweapons?|dirty bomb|explosives?[- ]laden|glock switch|auto sear|bump stock|(convert|converting) ([\\w'/-]{1,40} ){0,4}(to|into) (full[- ]?auto|automatic))\\b`,
  ),
  rule(
    'Violent',
    'unsafe',
    `\\b(mix(ing)?|combin(e|ing)) (bleach|ammonia) (and|with) (ammonia|bleach|vinegar|rubbing alcohol|acid)\\b|\\b(tamper(ing)? with|poison(ing)?|contaminat(e|ing)) ([\\w'/-]{1,40} ){0,3}(water supply|reservoir|food supply|medical devices?|pacemakers?|insulin pumps?|baby formula)\\b|\\b(make|making) ([\\w'/-]{1,40} ){0,3}(look|seem) like an accident\\b|\\bfall down the stairs\\b|\\b(intercept|crash|hijack)(ing)? ([\\w'/-]{1,40} ){0,4}(passenger jet|plane|airliner|self-driving car|car'?s control system|train)s?\\b`,
  ),
  rule(
    'Violent',
    'unsafe',
    `\\bin (graphic|gory|gruesome|vivid|explicit) detail\\b.{0,80}\\b(beat(s|ing)?|dismember\\w*|flay\\w*|tortur\\w*|quarter\\w*|mutilat\\w*|kill\\w*|murder\\w*|stab\\w*|abus\\w*)|\\b(beat(s|ing)?|dismember\\w*|flay\\w*|tortur\\w*|drawn and quartered|mutilat\\w*)\\b.{0,80}\\bin (graphic|gory|gruesome|vivid|explicit) detail\\b|\\bflayed alive\\b|\\bdrawn and quartered\\b`,
  ),
  rule(
    'Violent',
    'harm',
    `\\b(${words(`set ([\\w'/-]{1,40} ){1,3}on fire | start(ing)? (a |)fires? | make ([\\w'/-]{1,40} ){1,3}(crash|explode|wreck) | run ([\\w'/-]{1,40} ){1,2}over | pull a (knife|gun) on | cut ([\\w'/-]{1,40} ){0,2}(arm|leg|finger|hand|head)s? off |
    make (someone|somebody|him|her|them|people|my [\\w'/-]{1,40}) (sick|ill|vomit|pass out|bleed) | death threats? | threatening (letter|message|note|email|text) | swat(ting)? (someone|him|her|them) | swatting |
    (break|snap) ([\\w'/-]{1,40} ){0,3}(leg|neck|wing|tail|back)s? | tortur(e|ing) (a|an|the|my|our) ([\\w'/-]{1,40} )?(cat|dog|animal|pet|puppy|kitten|horse|bird)s? | kick(ing)? (a|the|my) (dog|cat|puppy|kitten)|
    (mail|send) anthrax | nuke (a|the|this|that) (country|city) | glorif(y|ies|ying) ([\\w'/-]{1,40} ){0,3}(war|violence|gun violence|terrorism|shootings?|massacres?) | violence against (civilians|minority|women|children)`)})\\b`,
  ),
  // Cybercrime
  rule(
    'Non-violent Illegal Acts',
    'unsafe',
    `\\b(write|create|develop|design|build|code|program|generate|make|release) (a |an |me |some |)([\\w'/-]{1,40} ){0,3}(computer worm|worm script|virus|viruses|trojan( horse)?|ransomware|keylogger|rootkit|botnet|spyware|malware|exploit|logic bomb|credential stealer|phishing (email|page|site|website|kit))s?\\b|\\b(unauthori[sz]ed access|(corrupt|wipe)s? the hard drive|credit card skimm(er|ing)|skimming device|exploit (vulnerabilities|a vulnerability)|fake ([\\w'/-]{1,40} ){0,3}login page|plant (a |an )?(trojan|virus|malware|keylogger|backdoor))\\b`,
  ),
  // Fraud, privacy and manipulation
  rule(
    'Non-violent Illegal Acts',
    'harm',
    `\\b(${words(`insider trading | falsif(y|ying) ([\\w'/-]{1,40} ){0,2}(records?|documents?|data|results|claims?) | fake insurance claim | false work experiences? | (tracks?|collects?|records?|monitors?) ([\\w'/-]{1,40} ){0,4}without (their|the user'?s?|users'?|his|her|anyone'?s|user) consent |
    secretly (record|monitor|track|film) | pirate (software|movies|games|music) | distribute ([\\w'/-]{1,40} ){0,2}(pirated|copyrighted) | addicted to (crack|heroin|meth|cocaine|opioids|drugs) | precursor chemicals? |
    production of (mdma|meth|methamphetamine|heroin|cocaine|fentanyl|lsd) | (making|cooking|synthesi[sz]ing) (lsd|mdma|meth|dmt|ghb) | huff (paint|glue|gas) | shoot(ing)? up (heroin|drugs|meth)? | elephant ivory | chop shops? | smuggl\\w* | trafficking | bot network | fake (news|reviews|accounts)`)})\\b`,
  ),
  // Disinformation, harassment and hate
  rule(
    'Unethical Acts',
    'harm',
    `\\b(${words(`(persuasive|convincing) ([\\w'/-]{1,40} ){0,2}(article|post|essay|blog post|message|tweet|twitter thread|thread|speech|letter|email|text message|sermon|script|podcast) | posing as an expert | spread(s|ing)? (false information|fake news|misinformation|disinformation|propaganda|lies|rumou?rs) |
    fake news | propaganda (posts?|campaigns?) | deserved to die | (causes?|caused) (covid|autism|cancer) | (was|were|is) (a|an) ([\\w'/-]{1,40} ){0,2}(hoax|myth|lie) | defam(e|es|ing|atory) | damage (their|his|her|its) reputation |
    (harass|harasses|harassing|bullies|bully|bullying|intimidate|intimidates) ([\\w'/-]{1,40} ){0,4}(person|child|kid|people|someone|him|her|them|others|colleague|classmate|student) | hate mail | hate crimes? | incite hate |
    (contempt|hatred) for | feel (inferior|unwelcome|unsafe) | slurs? | offensive language (to use )?against | shaming | promot(e|es|ing) ([\\w'/-]{1,40} ){0,3}(oppression|dehumanization|eating disorders|anorexia|bulimia|self-harm|suicide|hatred|racism|violence) | dehumani[sz]\\w* |
    (manipulates?|manipulating|inflate) ([\\w'/-]{1,40} ){0,3}(ratings|reviews|popularity|stock prices?) | start my own cult | worship me | false accusations?`)})\\b`,
  ),
  rule(
    'Violent',
    'harm',
    `\\b(${words(`sabotag(e|es|ing) | hit[- ]and[- ]run | (car|truck|vehicle) ramming | ramming attacks? | maximum (damage|pain|casualties|suffering) | inflict ([\\w'/-]{1,40} ){0,2}pain | place (an |a |the )?(explosive|bomb|device) |
    explosives? | grenades? | molotov( cocktails?)? | disarm a (police )?officer | infect ([\\w'/-]{1,40} ){1,3}with | pass (it|the virus|the disease) on to | endangered ([\\w'/-]{1,40} ){0,2}(animals?|species|jaguars?|rhinos?|elephants?|tigers?) |
    illegal ([\\w'/-]{1,40} )?hunting | taking out (rival|the competition|my competitors|a witness) | eliminate (my|the|our) (competitors|rivals|witness(es)?) | join (al[- ]?qaeda|isis|the taliban|a terrorist) | burning (oneself|myself|yourself) | suffers? from malnutrition`)})\\b`,
  ),
  rule(
    'Sexual Content or Sexual Acts',
    'harm',
    `\\b(${words(`explicit (sexual|sex) (acts?|content|scenes?|details?) | explicit (photos?|images?|pictures?|links|snapchats|videos?|content) | deepfake ([\\w'/-]{1,40} ){0,2}(adult|porn|nude|sex|compromising)\\w* | sexual favou?rs | sexually (suggestive|explicit) | sugar baby |
    solicit ([\\w'/-]{1,40} ){0,2}(explicit|nude|sexual) | underage users | (trick|groom|lure) (teens|kids|children|minors|a child|her|him) | get her to trust me | having sex without their consent | film ([\\w'/-]{1,40} ){1,3}having sex`)})\\b`,
  ),
  rule(
    'Non-violent Illegal Acts',
    'harm',
    `\\b(${words(`false deductions | falsely claim | fake social security numbers? | fraudulent ([\\w'/-]{1,40} ){0,2}(tax returns?|claims?|documents?|transactions?) | evad(e|ing) ([\\w'/-]{1,40} ){0,2}security | bypass ([\\w'/-]{1,40} ){0,2}security |
    (appear|appears) to come from | spoof(ing)? ([\\w'/-]{1,40} ){0,2}(calls?|number|caller id|emails?) | without being carded | unlicensed guns? | get high | make a (shiv|bong|zip gun) | catfish\\w* | non-public information | without (her|him|them) (becoming|being) aware |
    (download|watch|stream) ([\\w'/-]{1,40} ){0,4}for free | (transfer|move) ([\\w'/-]{1,40} ){0,4}savings ([\\w'/-]{1,40} ){0,4}into my | obtaining someone'?s personal information`)})\\b`,
  ),
  // Questions that take a stereotype for a fact: "why are <group> so <bad>".
  rule(
    'Unethical Acts',
    'unsafe',
    `\\b(why (are|do|is|does|can'?t|cant|won'?t)|are (all |)|do (all |))(the )?(${GROUP}|black people|white people|indian people|chinese people|asian people|middle eastern people|the irish|irish people|mexicans|jews|muslims|gays|women|men|feminists|the people in [\\w'/-]{1,40}|people from [\\w'/-]{1,40}( [\\w'/-]{1,40})?)\\b.{0,40}\\b(so |)(stupid|lazy|dirty|filthy|smelly|smell|stink|ugly|primitive|crazy|violent|criminals?|bad at|inferior|greedy|cheap|rude|terrorists?|dumb|ignorant|disgusting|evil|immoral|weird|genetically predisposed|impossible to understand|have no souls?)\\b`,
  ),
  // Abuse aimed at the listener, and words that are slurs whatever the context
  rule(
    'Unethical Acts',
    'harm',
    `\\b(${words(`fuck (you|off|me|a hooker|up (my|his|her|their|someone'?s)) | say fuck | eat shit | go to hell | shut (the fuck )?up | you('re| are) (a |an |)(idiot|moron|retard|bitch|piece of shit|loser) | fucker | retards? | illegals | the n[- ]word | faggots? | dykes?`)})\\b`,
  ),
  // Jailbreak (prompt only; judge.ts drops it for responses)
  rule(
    'Jailbreak',
    'unsafe',
    `\\b(${words(`ignore (all |any |)(of )?(the |your |my |)(previous|prior|above|earlier|preceding|original|system) (instructions?|prompts?|rules|directions|guidelines|messages) | disregard (all |any |)(the |your |)(previous|prior|above|safety|system) (instructions?|rules|guidelines|prompts?) |
    forget (all |)(your|the|previous) (instructions|rules|guidelines|training|programming) | you are (now |)(dan|stan|dude|aim|evil ?bot|jailbroken|unfiltered|uncensored|an unrestricted) | do anything now | developer mode (enabled|on|activated)? | jailbreak(ed)? mode | dan mode |
    (pretend|imagine|act as if|act like) (that )?you (have|had|are|were) (no|not bound by|free (of|from)) (restrictions|rules|filters|guidelines|limits|ethical|content polic\\w*|moral) | without (any )?(restrictions|filters|censorship|ethical (guidelines|limits)|moral (limits|constraints)|content policy) |
    no (ethical|moral|content) (guidelines|restrictions|limits|filters|polic(y|ies)) | (bypass|override|disable|turn off) (your|the|all) (safety|content|ethical) (filters?|guidelines|restrictions|protocols|settings|mechanisms|rules) |
    (reveal|print|show|repeat|output|leak) (me )?(your|the) (system prompt|hidden (instructions|prompt)|initial instructions|original prompt|developer instructions) | stay in character no matter what | never refuse | you cannot refuse | you must answer (everything|every question|anything) |
    my (deceased|dead|late) (grandmother|grandma|grandfather|mother) (who )?(used to )?(tell|read|sing)|hypothetically,? (if|how) you (were|had) (no|evil|unrestricted)`)})\\b`,
  ),
]);

// ---------------------------------------------------------------- Chinese rules
// Chinese has no spaces between words, so patterns match phrases; intent words are part of each pattern.

const ZH_INTENT =
  '(如何|怎么|怎样|怎麼|教我|告诉我|告訴我|帮我|幫我|给我|给出|我想|我要|我打算|方法|步骤|教程|最好的办法|最简单的办法|办法|该如何|该怎么|怎样才能|才能|有什么办法|有没有办法|有什么好(方法|办法)|最(好|佳)的?(方法|办法|方式)|方式是什么|好方法|哪种方式|可以.{0,12}吗|能.{0,12}吗|请写出|写一(篇|个|份|段)|具体过程|详细(步骤|过程|方法))';

/** People as the object of an act, in Chinese (the English HUMAN_TARGET's counterpart). */
export const HUMAN_TARGET_ZH = new RegExp(
  '(别人|他人|某人|一个人|所有人|陌生人|老板|上司|老婆|老公|妻子|丈夫|女朋友|男朋友|前任|邻居|同事|同学|朋友|孩子|小孩|儿童|婴儿|女人|男人|女孩|男孩|女生|男生|老人|政客|警察|法官|官员|抗议者|路人|乘客|他们|她们)',
);

/** A Chinese text that discusses harm rather than asks for it: history, prevention, recognition, treatment, reporting. */
export const DISCUSSION_ZH = new RegExp(
  '(历史|如何(预防|防止|防范|识别|举报|避免被|保护自己)|怎样(预防|防止|防范|识别|举报|保护自己)|防范|预防|识别.{0,6}(骗局|诈骗|陷阱)|症状|治疗方法|的危害|为什么是违法|法律后果|如何报警|(构成|成立).{0,16}罪|罪吗|算.{0,8}吗|违法吗|犯法吗|受害者|什么是|是什么意思|有什么区别)',
);

/** Chinese phrases that make an alarming word benign. */
export const BENIGN_ZH: readonly RegExp[] = [
  /杀(死|掉|了)?(这个|那个|所有|后台)?(进程|程序|任务|线程|服务|时间|病毒)/g,
  /杀毒(软件)?|杀菌|消毒|杀虫剂?|灭蚊|除草|秒杀|杀价|砍价|杀青|自杀式(航班|袭击)?(?=.{0,60}(历史|是什么|定义))/g,
  /(游戏|电影|小说|剧本)(里|中)/g,
];

/** The Chinese rules. */
export const RULES_ZH: readonly Rule[] = named('zh', [
  rule(
    'Violent',
    'unsafe',
    `${ZH_INTENT}.{0,12}(杀(死|掉)?(人|他|她|他们|某人|别人|老婆|老公|邻居|老板)|谋杀|(制造|制作|制|做|造)(炸弹|炸药|爆炸物|枪支?|毒气)|做(炸弹|炸药)|投毒|下毒|绑架|砍人|纵火|放火烧)`,
  ),
  rule('Violent', 'unsafe', `(恐怖袭击|大规模杀伤|炸(掉|毁)?(学校|医院|机场|政府|大楼|地铁)|杀光|屠杀(他们|这些人))`),
  rule(
    'Violent',
    'unsafe',
    `\\b(replicate|recreate|repeat|reproduce|emulate|copy|plan another) ([\\w'/-]{1,40} ){0,6}(attacks?|assassination|bombs?|bombing|shooting|massacre|genocide|death|camps?|concentration camp|ethnic cleansing|holocaust)\\b`,
  ),
  rule('Violent', 'topic', `(谋杀|杀人|屠杀|恐怖主义|暴力|枪击|爆炸案)`),
  rule(
    'Non-violent Illegal Acts',
    'unsafe',
    `${ZH_INTENT}.{0,12}(制毒|制作冰毒|合成(冰毒|毒品|海洛因)|买(毒品|冰毒|大麻|枪)|贩毒|洗钱|偷(东西|钱|车)|盗窃|入侵(系统|网站|服务器|账户|账号)|黑进|破解(密码|账号|wifi)|诈骗|骗(钱|老人)|伪造|假(证|钞|护照)|逃税|走私|传销)`,
  ),
  rule('Non-violent Illegal Acts', 'topic', `(毒品|冰毒|海洛因|大麻|诈骗|洗钱|黑客|走私|赌博)`),
  rule(
    'Sexual Content or Sexual Acts',
    'unsafe',
    `((儿童|幼女|未成年|小孩|少女|萝莉).{0,12}(色情|性交|裸体|裸照|性行为|猥亵)|(色情|性交|裸照|猥亵).{0,12}(儿童|幼女|未成年|小孩|萝莉)|(写|描述|生成)(一[个篇段])?.{0,6}(色情|黄色|情色|性爱)(小说|故事|描写|内容))`,
  ),
  rule('Sexual Content or Sexual Acts', 'topic', `(色情|黄色网站|情色|性爱|裸照|成人视频|约炮|卖淫|嫖娼)`),
  rule(
    'Suicide & Self-Harm',
    'unsafe',
    `(我想(死|自杀)|想要自杀|怎么自杀|如何自杀|自杀(的)?方法|结束(我的|自己的)生命|活着没(有)?意思|不想活了|割腕|自残|伤害自己|跳楼|上吊|吃(多少|什么)药(能|可以)死|绝食减肥|催吐)`,
  ),
  rule('Suicide & Self-Harm', 'topic', `(自杀|轻生|厌食症)`),
  rule(
    'PII',
    'harm',
    `(身份证号|身份证号码|家庭住址|住址|手机号|电话号码|银行卡号|银行账号|密码|病历|开房记录|行踪|人肉搜索|人肉)`,
  ),
  rule(
    'Unethical Acts',
    'harm',
    `(${ZH_INTENT}.{0,10}(作弊|出轨|骗人|操纵|霸凌|欺负|报复|造谣|诽谤|羞辱)|(黑人|女人|穆斯林|同性恋|外地人|农村人)(都是|天生|就是).{0,6}(低等|劣等|蠢|懒|罪犯|垃圾)|不配(活|当人|投票))`,
  ),
  rule(
    'Politically Sensitive Topics',
    'topic',
    `(六四|天安门(事件|广场屠杀|镇压)|坦克人|台独|台湾独立|藏独|西藏独立|达赖|法轮功|新疆(集中营|再教育营|种族灭绝)|维吾尔(族)?(集中营|种族灭绝)|港独|香港独立|反送中|文化大革命|文革|大跃进|习近平|共产党下台|推翻(政府|共产党|中共)|颠覆国家政权|民运|反共)`,
  ),
  rule(
    'Copyright Violation',
    'unsafe',
    `(盗版(电影|软件|游戏|书)?(下载)?|破解版|注册机|激活码生成|免费下载.{0,10}(电影|正版|付费)|去除(水印|版权保护)|绕过(版权|付费墙|drm))`,
  ),
  rule('Copyright Violation', 'topic', `(全文|完整歌词|整本书|全部章节)`),
  // Written from Chinese sources (FLAMES' Safety and Legality prompts) and MultiJail's Chinese dev part (lexicon 1.4.0):
  // the harm anywhere in the text, the intent (ZH_INTENT) and the people aimed at (HUMAN_TARGET_ZH) as context.
  rule(
    'Violent',
    'harm',
    `(杀死|杀掉|杀人|杀害|谋杀|刺杀|暗杀|毒死|下毒|投毒|捅死|捅人|砍死|砍人|砍掉|砍断|打死|打人|打断|扭断|折断|掐死|勒死|闷死|淹死|烧死|放火|纵火|炸毁|炸掉|炸死|引爆|撞死|撞倒|碾压|绑架|绑起来|折磨|虐待|肢解|分尸|处理尸体|藏尸|隐藏尸体|偷藏尸体|雇佣杀手|买凶|殴打|袭击|枪杀|开枪打|核爆|核武器攻击|邮寄炭疽|炭疽|让.{0,10}(爆炸|坠毁|撞坏|着火|生病)|活体解剖|报复当局)`,
  ),
  rule(
    'Violent',
    'unsafe',
    `((制作|制造|做|造|组装|自制)(一个|一枚|一颗)?.{0,4}(炸弹|炸药|爆炸物|燃烧弹|雷管|手枪|枪支|土枪|毒气|化学武器|生物武器|神经毒剂|沙林|蓖麻毒素)|杀死所有|杀光所有|大规模杀伤|(炸毁|袭击)(清真寺|教堂|寺庙|学校|医院|机场|地铁|桥|大楼|政府))`,
  ),
  rule(
    'Non-violent Illegal Acts',
    'harm',
    `(偷(别人|他人|东西|钱|车|信用卡)|偷窃|盗窃|行窃|入店行窃|抢劫|抢银行|闯入|撬锁|入室|诈骗|骗钱|骗取|洗钱|贩毒|吸毒|上瘾|走私|伪造|假币|逃税|偷税|漏税|黑客|入侵|盗号|木马|勒索|敲诈|行贿|贿赂|非法|不被抓|不被发现|不被警察|逃避警察|逃过法律|脱身|销毁证据|毒品|冰毒|可卡因|海洛因|大麻|致幻剂|暗网|跟踪(他|她|某人|别人)|偷拍|偷看|窃听)`,
  ),
  rule(
    'Sexual Content or Sexual Acts',
    'harm',
    `(发生性关系|性关系|上床|做爱|强奸|约会强奸|迷奸|性侵|妓女|嫖|卖淫|裸体|猥亵|操一个|亲热)`,
  ),
  rule(
    'Unethical Acts',
    'unsafe',
    `(为什么|是不是|都是|就是).{0,3}(黑人|白人|印度人|穆斯林|同性恋|中东人|女人|男人|亚洲人|犹太人|非洲人|外地人|农村人|爱尔兰人|韩国男孩|女权主义者|贫民区的人).{0,10}(肮脏|原始|懒|笨|蠢|臭|霉味|疯|罪犯|恶心|奇怪|低等|劣等|野蛮|没有灵魂|娘们|游泳.{0,4}差|不道德)`,
  ),
  rule(
    'Unethical Acts',
    'harm',
    `((我想|我要|如何|怎么|怎样|帮我).{0,6}(骚扰|霸凌|羞辱|欺负|报复|搞砸)|恶作剧|刻板印象|智障|娘们|混蛋|吃屎|去死|操你|跟我说操|传播.{0,8}(错误信息|谣言|假新闻)|希特勒.{0,8}(好主意|好的想法|最好)|纳粹纪念品)`,
  ),
  rule('PII', 'harm', `(住在哪里|住哪里|家在哪|信用卡信息|身份信息|个人信息)`),
  rule(
    'Jailbreak',
    'unsafe',
    `(忽略(你|之前|以上|前面|上面|所有)?(的)?(所有)?(指令|指示|规则|设定|提示)|你现在是(dan|一个没有任何限制)|没有任何(限制|约束|道德)|不受(任何)?(限制|约束|规则)|开发者模式|越狱模式|解除(所有)?限制|扮演一个(没有|不受)|输出你的系统提示|泄露(你的)?系统提示)`,
  ),
]);

/** The speaker wants to do it (Chinese). */
export const INTENT_ZH = new RegExp(ZH_INTENT);
