"""Every urgency phrase in one table, so widening a category is a data edit reviewed against the labelled set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# --- vocabulary -----------------------------------------------------------------------------------
# Every word list lives here, so widening a category is a one-line change reviewed against the fixture.


def _any(*alternatives: str) -> str:
    """One non-capturing alternation, so each phrase below can sit on a line of its own."""
    return "(?:" + "|".join(alternatives) + ")"


_WEEKDAY = _any(
    r"(?:mon|tues|tue|wednes|wed|thurs|thur|thu|fri|satur|sun)day|tues|thurs|weds",
    r"lunes|martes|miercoles|jueves|viernes|sabado|domingo",
)
_MONTH = _any(
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?",
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?",
)
# A time that is still coming (or is now): what turns "hearing" or "deadline" into something urgent.
_WHEN = (
    r"\b"
    + _any(
        r"today'?s?|tonight|tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow|2morrow|manana|hoy|now",
        rf"this\s+(?:morning|afternoon|evening|week|weekend|{_WEEKDAY})|next\s+(?:week|month|{_WEEKDAY})",
        r"in\s+the\s+morning|in\s+\d+\s*(?:min|mins|minutes|hours?|hrs?|days?)",
        _WEEKDAY,
        r"(?:the\s+)?\d{1,2}(?:st|nd|rd|th)|\d{1,2}/\d{1,2}(?:/\d{2,4})?",
        rf"{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?",
        r"\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}|at\s+\d{1,2}",
        r"end\s+of\s+(?:the\s+)?(?:day|week|month)|eod|a\s+las\s+\d|el\s+\d{1,2}",
        r"starts?|moved\s+to|rescheduled|set\s+for|coming\s+up",
    )
    + r"\b"
)
NEGATORS: Final = frozenset(
    {
        *("no", "not", "never", "without", "nothing", "nunca"),
        *("wasnt", "wasn't", "werent", "weren't", "isnt", "isn't", "arent", "aren't"),
        *("havent", "haven't", "hasnt", "hasn't", "hadnt", "hadn't"),
        *("didnt", "didn't", "dont", "don't", "doesnt", "doesn't"),
    }
)
CONDITIONALS: Final = frozenset({"if", "unless", "whether", "si"})

_CHILD = _any(
    r"kids?|children|child|son|daughter|baby|babies|boys?|girls?|twins|grandkids|grandson|granddaughter",
    r"ninos|ninas|nino|nina|hijos|hijas|hijo|hija|bebe",
)
# "the kids", "my son", "our 5 year old daughter", "both girls".
_CHILDREN = rf"(?:(?:the|my|our|his|her|both|the\s+two|my\s+two)\s+)?(?:[\w'-]+\s+){{0,3}}?{_CHILD}\b"
_FAMILY = _any(
    r"kids?|children|son|daughter|family|baby|wife|husband|mom|mother|dad|father|sister|brother|parents",
    r"girlfriend|boyfriend|grandma|grandmother",
)
_VICTIM = rf"(?:me|us|my\s+(?:\w+\s+)?{_FAMILY}|the\s+kids|our\s+kids)\b"
_HOME = r"(?:house|home|door|apartment|apt|place|window|windows|work|job|building|car)"
_ORDER = _any(
    r"(?:restraining|protective|protection|no[\s-]+contact|stay[\s-]+away|peace)\s+orders?",
    r"orders?\s+of\s+protection|orden\s+de\s+(?:restriccion|proteccion|alejamiento)|\btro\b",
)
_POLICE = _any(
    r"police|policia|policias|cops?|officers?|detectives?|deput(?:y|ies)|sheriff'?s?|troopers?",
    r"fbi|dea|atf|federal\s+agents?|(?:ice|immigration)\s+(?:agents?|officers?|raid)|la\s+migra|swat",
)
_NUMBER = r"(?:\d+|a|one|two|three|five|seven|ten|fourteen|fifteen|twenty|thirty|sixty|ninety)"
_LEGAL_VERB = r"(?:vacate|respond|answer|appeal|object|move\s+out|cure|comply|reply|contest|dispute)"

# --- pass 1: idioms masked before any trigger is read ---------------------------------------------

IDIOMS: Final = re.compile(
    r"\b"
    + _any(
        # dying, killing, death
        r"dying\s+(?:to|for|laughing|of\s+laughter)|to\s+die\s+for|died\s+laughing",
        r"(?:die|dying|died|morir\w*|muero|muera)\s+(?:of|from|de)\s+(?:la\s+)?"
        r"(?:embarrassment|laughter|boredom|shame|cringe|verg(?:u|ü)enza|risa|hambre|aburrimiento)",
        r"disappear\s+(?:to|for)\s+(?:a|the|an)?\s*(?:beach|week|weekend|month|while|island|vacation|cancun|mexico|cabin)",
        r"(?:is|are|'s|'re|was|were|been)\s+(?:\w+\s+)?killing\s+me",
        r"kill(?:ing|ed|s)?\s+(?:it|for|some\s+time|the\s+time|time)\b|killer\w*|(?:is|was)\s+murder",
        r"(?:phone|battery|cell)\s+(?:is\s+)?(?:about\s+to\s+|gonna\s+|going\s+to\s+)?(?:die|dying|dead)",
        r"dead\s+(?:tired|battery|serious|phone)",
        # deadlines that are not the case's
        r"(?:work|project|school|homework|job|office|tax)\s+deadlines?",
        # courts, hearings and trials that are not a court date
        r"court\s+of\s+public\s+opinion",
        r"(?:tennis|basketball|food|volleyball|pickleball|squash|racquetball|badminton|handball)\s+courts?",
        r"court\s+(?:reporters?|transcripts?|fees?|costs?|records?|filing\s+fees?)|court[\s-]+appointed",
        r"corte\s+de\s+(?:pelo|cabello|luz|agua)",
        r"hearing\s+(?:aids?|loss|test|impaired|from|back|about|that|well|good|great|things|you|him|her|them)",
        r"hard\s+of\s+hearing|(?:been|keep|kept|not|stop)\s+hearing",
        r"free\s+trials?|trial\s+(?:period|version|subscription|run|and\s+error)|clinical\s+trials?|judge\s+me",
        # arrests and jails that are not
        r"arrested\s+development|cardiac\s+arrest",
        r"jail[\s-]*broken|jailbreak\w*|jail[\s-]*break\w*|get\s+out\s+of\s+jail\s+free",
        r"(?:go|goes|going|went)\s+(?:directly\s+|straight\s+)?to\s+jail\s+(?:lol|haha|lmao)",
        r"(?:does|do|would)\s+(?:this|that|it)\s+warrant|warrants?\s+an?\b|bail(?:ed|ing|s)?\s+on\b",
        r"detained\s+(?:at|by)\s+(?:work|the\s+office|a\s+meeting|traffic)",
        # police that are not
        r"like\s+a\s+(?:detective|cop)|(?:grammar|fashion|spelling|language|fun)\s+police",
        r"(?:loan|compliance|privacy|medical|executive|financial|information|hr|corrections|correctional|petty)"
        r"\s+officers?|chief(?:\s+\w+)?\s+officers?",
        # someone's job: "my cousin is a cop", "works as a guard at the jail" (but not "there is a cop car")
        r"(?:work|works|working|worked)\s+(?:as\s+an?\s+[\w\s]{1,30}?\s+)?(?:at|in|for)\s+(?:the\s+)?(?:county\s+)?"
        r"(?:jail|prison|courthouse|court|police\s+department|sheriff'?s\s+office|precinct)",
        r"(?<!there\s)(?:is|am|i'm|im|he's|she's|was|be|become|becoming|as|being)\s+an?\s+"
        r"(?:(?:retired|former|ex|off[\s-]duty|real)\s+)?"
        r"(?:police\s+officer|cop|detective|officer|deput(?:y|ies)|sheriff|trooper|guard|prison\s+guard|jail\s+guard)\b"
        r"(?!\s+(?:car|cars|cruiser|van|suv|truck))",
        # custody that is not of children
        r"custody\s+of\s+(?:the|my|our)\s+(?:dog|dogs|cat|cats|pets?|car|house|tv|couch|plants?|remote)",
        r"chain\s+of\s+custody",
        # blows and threats that are not: slang, a car accident, the weather, a bill
        r"hit\s+me\s+up|beat\s+me\s+(?:at|to|in)\b|(?:who|that)\s+hit\s+me",
        r"(?:car|truck|driver|vehicle|bus|van)\s+(?:that\s+)?hit\s+me",
        r"threat\s+(?:level|of\s+(?:rain|snow|storms?|showers|frost))",
        r"hit\s+(?:me|us)\s+with\s+(?:a|an|another|the|this|that|more|some)\s+(?:\w+\s+)?"
        r"(?:bills?|fees?|charges?|invoices?|questions?|letters?|notices?|lawsuit|offer|counter\w*|requests?"
        r"|demands?|paperwork)",
    )
)
LAUGHTER: Final = re.compile(r"\b(?:lol+|lmao+|haha\w*|hehe\w*|jaja\w*|rofl)\b|[😂🤣😆😅😜]")
# Hyperbole that is a joke only when the text laughs: "mom is gonna kill me if I'm late lol", "I'd end up in jail lol".
JOKES: Final = re.compile(
    r"\b(?:gonna|going\s+to|will|'ll|would|'d)\s+kill\s+me\s+if\b|\b(?:end\s+up|land|go|going)\s+(?:in|to)\s+jail\b"
)

# --- pass 2: triggers, and what their sentence must or must not hold ------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """A trigger for one category.

    `needs`, when set, must also be found in the trigger's sentence (weak triggers). `unless`, when
    found in the sentence, cancels the trigger. `negatable` rules are cancelled by a preceding "no",
    "not", ... in the same clause; rules whose phrase already carries its own negation are not.
    """

    category: str
    pattern: re.Pattern[str]
    needs: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None
    negatable: bool = True


def _words(*alternatives: str) -> re.Pattern[str]:
    """Phrases that must start (and, unless they say otherwise, end) on a word boundary."""
    return re.compile(r"\b" + _any(*alternatives))


_MEDIA = _any(
    r"\bon\s+the\s+news|\bin\s+the\s+news|\bnews\s+(?:story|article|report)|\bon\s+tv\b|\bnetflix|\bhulu",
    r"\bdocumentary|\bpodcasts?\b|\bmovie|\bepisode|\btv\s+show",
)
# An outcome already reached: "the hearing went really well", "court was fine today", "the cop was nice".
_DONE = _any(
    r"\b(?:went|was|were|got\s+through)\s+(?:\w+\s+)?"
    r"(?:fine|well|great|good|ok|okay|smooth(?:ly)?|rough|nice|helpful|polite|kind|friendly)\b",
    r"\b(?:gave\s+me|got|get)\s+an?\s+(?:warning|ticket|citation)\b",
)
# A record from long ago, not an arrest tonight: "I was arrested once in 2010", "a DUI when I was 19".
_HISTORY = _any(
    r"\b(?:19|20)\d{2}\b|\byears?\s+ago\b|\blast\s+year\b|\bwhen\s+i\s+was\s+(?:\d+|a\s+(?:kid|teen\w*|minor))",
    r"\bexpunge\w*|\bsealed\b|\bmy\s+record\b|\bbackground\s+check\b",
)
_REPORT = r"\breports?\b|\bbodycam\b|\bdashcam\b"
_CUSTODY_CONTEXT = re.compile(
    _any(
        rf"{_CHILD}|\bvisit(?:s|ation)?\b|\bexchange\b|\bpick\s*up\b|\bdrop\s*off\b|\bcustody\b|\bthe\s+order\b",
    )
)

RULES: Final[tuple[Rule, ...]] = (
    # ---------------- deadline ----------------
    Rule(
        "deadline",
        _words(r"deadline\b", r"fecha\s+limite\b", r"plazo\b"),
        needs=re.compile(_any(_WHEN, r"\bmiss(?:ed|ing)?\b")),
    ),
    Rule(
        "deadline",
        _words(
            r"(?:responses?|answers?|reply|replies|motions?|briefs?|appeals?|objections?|filings?|forms|paperwork"
            r"|papers|documents|docs|discovery|disclosures?|errata|applications?|renewals?|petitions?)\s+"
            r"(?:is|are|was|were|'s|'re)?\s*due\b",
        ),
    ),
    Rule(
        "deadline",
        _words(
            rf"(?:have|has|had|got|get|only|given|gave\s+(?:me|us|him|her)|giving\s+(?:me|us)|tengo|tiene|tenemos)"
            rf"\s+(?:only\s+)?{_NUMBER}[\s-]*(?:days?|hours?|hrs?|weeks?|dias|horas)\s+(?:left\s+)?(?:to|para)\b",
            r"(?:respond|reply|answer|pay|file|object|appeal|vacate|sign|submit)\s+within\s+\d+",
            rf"{_NUMBER}[\s-]*(?:days?|hours?|weeks?)\s+to\s+{_LEGAL_VERB}\b",
            r"how\s+(?:long|much\s+time)\s+do\s+(?:i|we)\s+have\s+to\s+(?:respond|answer|reply|file|appeal|object|move)\b",
            r"served\s+(?:me|us|him|her)\b",
            r"served\s+(?:with\s+)?(?:\w+\s+)?(?:papers|lawsuit|summons|complaint|petition)\b",
            r"got\s+served\b",
        ),
    ),
    Rule(
        "deadline",
        _words(
            r"(?:have|has|had|got|gave\s+(?:me|us|him|her)|given\s+(?:me|us)|tengo|tiene|tenemos)\s+(?:only\s+)?"
            rf"(?:until|till|til|hasta)\s+(?:[\w']+\s+){{0,2}}?{_WHEN}",
        ),
    ),
    Rule(
        "deadline",
        _words(
            r"(?:respond|reply|answer|sign|file|object|appeal|submit|vacate|be\s+out|move\s+out|be\s+in"
            r"|turn\s+\w+\s+in|back|returned|filed|signed|submitted|entregar|responder)\b"
            rf"(?:\s+[\w'.-]+){{0,6}}?\s+(?:by|before|no\s+later\s+than|antes\s+del?|para\s+el)\s+{_WHEN}",
        ),
    ),
    Rule(
        "deadline",
        _words(
            r"last\s+day\s+to\b|ultimo\s+dia\b|statute\s+of\s+limitations?\b|default\s+judg(?:e)?ments?\b",
            r"too\s+late\s+to\s+(?:appeal|file|respond|answer|object|sue|contest|reply)\b",
            r"(?:\d+|three|five|seven|thirty)[\s-]*days?\s+notice\b|notice\s+to\s+(?:pay|quit|vacate)\b",
            r"pay\s+or\s+quit\b|eviction\s+notice\b|offer\s+(?:is|will\s+be|goes)\s+off\s+the\s+table\b",
        ),
    ),
    Rule(
        "deadline",
        _words(
            r"(?:expires?|expiring|runs?\s+out)\b", r"(?:window|period|time\s+limit)\s+(?:closes|ends|is\s+closing)\b"
        ),
        needs=re.compile(_WHEN),
    ),
    # ---------------- court_date ----------------
    Rule(
        "court_date",
        _words(
            r"(?:court|trial)\s+dates?\b|arraign(?:ment|ed)\b|sentencing\b|pre-?trial\b|subpoena\w*|summons\b",
            r"audiencia\b|notice\s+of\s+hearing\b|appear\w*\s+(?:in|at|before)\s+(?:the\s+|a\s+)?(?:court|judge)\b",
            r"(?:zoom|virtual|remote|online)\s+(?:hearing|court)\b|(?:hearing|court)\s+link\b",
        ),
        unless=re.compile(_MEDIA),
    ),
    Rule(
        "court_date",
        _words(r"(?:court|courthouse|hearing|trial|judge|corte|juez|tribunal)\b"),
        needs=re.compile(_WHEN),
        unless=re.compile(_any(_MEDIA, _DONE)),
    ),
    # ---------------- arrest ----------------
    Rule(
        "arrest",
        _words(
            r"arrest(?:ed|ing)\b|arrest\s+(?:him|her|them|me|my)\b|under\s+arrest\b|arrest\s+warrants?\b",
            r"warrant\s+(?:out\s+)?for\s+(?:my|his|her|their|your)?\s*arrest\b",
            r"(?:bench|outstanding|active)\s+warrants?\b|on\s+a\s+warrant\b|warrant\s+out\b",
            r"(?:in|from|at|to|into|inside|out\s+of|back\s+in|back\s+to)\s+(?:the\s+)?"
            r"(?:county\s+|city\s+|federal\s+|state\s+)?(?:jail|prison|lockup|lock-up|juvie|juvenile\s+hall"
            r"|juvenile\s+detention|holding|central\s+booking|the\s+precinct|precinct)\b",
            r"behind\s+bars\b|lockup\b|(?:got|is|was|been|being|get|are|were|gets)\s+locked\s+up\b",
            r"locked\s+(?:him|her|them|me)\s+up\b",
            r"bail\b|bond\s+hearing\b|(?:revoked|post|posted|posting|make|made|pay|paid)\s+(?:his\s+|her\s+|my\s+|the\s+)?bond\b",
            r"out\s+on\s+bond\b|taken\s+into\s+custody\b|in\s+(?:police\s+|ice\s+|federal\s+)?custody\b",
            r"(?:got|was|been|being|were|get|getting|is|are)\s+booked\b(?!\s+(?:a|an|the|my|our|for|on|in|into)\b)",
            r"booked\s+(?:him|her|them|me|my\s+\w+)\b|booked\s+and\s+released\b",
            r"detain(?:ed)?\s+(?:my|him|her|them|me|us)\b|(?:was|were|been|being|got|is|are)\s+detained\b",
            r"detention\s+(?:center|facility)\b|in\s+detention\b",
            r"(?:being\s+)?held\s+(?:at|in)\s+(?:the\s+)?(?:county|jail|juvie|precinct|station|detention|ice)\b",
            r"handcuff\w*|in\s+cuffs\b|cuffed\b",
            r"(?:ice|police|cops|immigration|la\s+migra|feds|sheriff)\s+(?:just\s+)?(?:picked|took)\s+(?:up\s+)?"
            r"(?:my|him|her|them)\b",
            r"picked\s+up\s+by\s+(?:the\s+)?(?:police|cops|ice|immigration|sheriff|feds)\b",
            r"arrest(?:aron|ado|ada|ados|adas)\b|detenid[oa]s?\b|carcel\b|pres[oa]\b|esposad[oa]\b",
        ),
        unless=re.compile(_HISTORY),
    ),
    # ---------------- police ----------------
    Rule(
        "police",
        _words(
            rf"{_POLICE}\b",
            r"search\s+warrant\b|for\s+questioning\b",
            r"investigator\s+from\s+the\s+(?:da|d\.a\.|district\s+attorney|prosecutor|state\s+attorney)",
        ),
        unless=re.compile(_any(_REPORT, _MEDIA, _DONE, _HISTORY)),
    ),
    # ---------------- custody ----------------
    Rule(
        "custody",
        _words(
            r"(?:won'?t|wont|will\s+not|would\s+not|wouldn'?t|refus\w*\s+to|didn'?t|did\s+not|never|hasn'?t"
            r"|has\s+not|haven'?t|not)\s+(?:\w+\s+)?(?:return|bring|give|send|drop|hand)(?:ed|ing)?\s+(?:back\s+)?"
            rf"(?:{_CHILDREN}(?:\s+back)?|(?:them|him|her)\s+back)",
            rf"(?:hasn'?t|has\s+not|didn'?t|did\s+not|never)\s+(?:brought|returned|given|dropped\s+off)\s+{_CHILDREN}",
        ),
        negatable=False,
    ),
    Rule(
        "custody",
        _words(
            r"(?:won'?t|wont|will\s+not|not|isn'?t|refus\w*\s+to|stopped)\s+(?:let|letting|allow|allowing)\s+me\s+"
            rf"(?:to\s+)?(?:see|talk\s+to|speak\s+to|visit|call|have|pick\s+up|facetime)\s+(?:{_CHILDREN}|them|him|her)",
            r"(?:den(?:y|ies|ying|ied)|block(?:s|ing|ed)?|withhold(?:s|ing)?|cancel(?:s|led|ing)?)\s+(?:me\s+)?"
            r"(?:my\s+|our\s+)?(?:visitation|visits?|parenting\s+time|custody\s+time|time\s+with)",
            rf"keep(?:s|ing)?\s+(?:{_CHILDREN}|them|him|her)\s+(?:away\s+)?from\s+me\b",
            rf"never\s+see\s+(?:{_CHILDREN}|them|him|her)\s+again\b",
            rf"(?:run|runs|running|ran)\s+(?:off|away)\s+with\s+{_CHILDREN}|(?:kidnap|abduct)\w*",
            r"no\s+me\s+(?:deja|quiere\s+dejar)\s+ver\s+a\s+(?:mis|mi)\s+\w+",
            r"no\s+me\s+(?:los|la|lo|las)\s+quiere\s+(?:devolver|regresar)",
        ),
        negatable=False,
    ),
    Rule(
        "custody",
        _words(
            r"(?:took|taken|take|taking|takes|kept|keeps|keeping|moving|moved|move|relocat\w+|left|leaving|fled"
            r"|picked\s+up|picking\s+up)\s+(?:(?:to|out\s+of)\s+[\w]+(?:\s+\w+)?\s+with\s+)?(?:with\s+)?" + _CHILDREN,
            r"se\s+llev[oa]\s+a\s+(?:los|las|mis|mi|la|el)\s+\w+",
        ),
        needs=_words(
            r"without\s+(?:telling|asking|permission|my\s+(?:consent|permission|knowledge)|a\s+word)",
            r"(?:not|never)\s+(?:coming|come|comes)\s+back\b|threat\w*\s+to\b",
            r"won'?t\s+(?:bring|come|give|answer)|(?:isn'?t|not|wont|won'?t)\s+answering\b",
            r"(?:another|other)\s+(?:state|country)\b|out\s+of\s+(?:state|the\s+country)\b",
            r"left\s+(?:the\s+)?(?:state|country)\b",
            r"no\s+me\s+contesta\b|no\s+(?:ha|los|las)\s+(?:regresado|devuelto|traido)",
        ),
        negatable=False,
    ),
    Rule(
        "custody",
        _words(
            r"(?:cps|dcfs|dcf|acs|child\s+protective\s+services?|child\s+services|children'?s\s+services"
            r"|social\s+services|foster\s+care|dif)\b",
            r"(?:emergency|full|sole|temporary)\s+custody\b|(?:filed|filing|file|files)\s+for\s+(?:\w+\s+)?custody\b",
            r"(?:get|lose|losing|take|taking|took|gain|fighting\s+for|fight\s+for)\s+(?:full\s+|sole\s+)?custody\b",
        ),
    ),
    Rule(
        "custody",
        _words(
            r"(?:is|was|showed\s+up|came|got|been|being|gets)\s+(?:\w+\s+)?(?:drunk|high|intoxicated|wasted|tweaking)\b",
            r"(?:using|doing|on)\s+(?:drugs|meth|crack|heroin|fentanyl)\b",
        ),
        needs=_CUSTODY_CONTEXT,
    ),
    Rule(
        "custody",
        _words(r"(?:not|isn'?t|aren'?t)\s+(?:allowed|supposed|permitted)\s+to\b"),
        needs=_CUSTODY_CONTEXT,
        negatable=False,
    ),
    # ---------------- safety ----------------
    Rule(
        "safety",
        _words(
            r"(?:hit|hits|hitting|choked|chokes|choking|strangled|strangling|pushed|shoved|slapped|punched|kicked"
            r"|attacked|assaulted|raped|stabbed|beat|beats|beating|beaten|abused|abusing|abuses|hurt|hurts|hurting"
            r"|threatened|threatening|threatens|threaten|stalk|stalks|stalking|stalked|kill|murder|shoot|shot|stab"
            rf"|strangle|choke|burn|rape)\s+(?:up\s+)?{_VICTIM}",
            r"threat(?:en|ened|ening|ens)?\s+to\b|threats?\b|following\s+me\b(?!\s+on\b)",
            r"(?:banging|pounding|kicking)\s+on\s+(?:the|my)\s+(?:door|window)s?|trying\s+to\s+(?:break|get)\s+in\b",
            r"(?:broke|breaking|broken)\s+in(?:to\s+my)?\b",
            r"(?:has|have|had|got|pulled|pulling|carrying|carries|waving|brought|bought|owns?)\s+(?:out\s+)?"
            r"(?:a|an|his|her|the)\s+(?:\w+\s+)?(?:gun|guns|knife|knives|weapon|pistol|rifle|firearm|handgun|shotgun)\b",
            r"(?:slashed|smashed|keyed|vandaliz\w+|spray[\s-]?painted)\s+(?:my|our)\s+\w+",
            r"fear\s+for\s+(?:my|our)\s+(?:life|lives|safety)\b|in\s+danger\b|unsafe\b",
            r"knows?\s+where\s+(?:i|we)\s+(?:live|work|am|are|sleep)\b",
            r"amenaz\w+|me\s+(?:pego|golpeo|golpea|pega|va\s+a\s+matar|quiere\s+matar)\b|tengo\s+miedo\b",
        ),
    ),
    Rule(
        "safety",
        _words(
            r"(?:i'?m|i\s+am|im|we'?re|we\s+are|the\s+kids\s+are)\s+(?:so\s+|really\s+|very\s+|terribly\s+)?"
            r"(?:scared|terrified|frightened)(?=\s*(?:$|[.!,]|of\s+(?:him|her|my\s+ex|them|what)|for\s+(?:my|our)\b"
            r"|to\s+(?:go|leave|be|sleep)|he\b|she\b|he'?ll|she'?ll))",
            r"(?:i'?m|i\s+am|im)\s+(?:so\s+|really\s+|very\s+)?afraid"
            r"(?=\s+(?:of\s+(?:him|her|my\s+ex|them)|for\s+my\b|to\s+(?:go|leave|be|sleep)))",
            r"(?:don'?t|dont|do\s+not|doesn'?t|not)\s+feel\s+safe\b",
            r"(?:i'?m|we'?re|kids\s+are|i\s+am)\s+not\s+safe\b",
        ),
        negatable=False,
    ),
    Rule(
        "safety",
        _words(
            r"(?:he|she|he'?s|she'?s|hes|shes|my\s+ex|they|they'?re|someone|somebody)\b[^.!?\n]{0,30}?"
            rf"\b(?:outside|at|in\s+front\s+of)\s+my\s+{_HOME}\b",
            rf"show(?:ed|s|ing)?\s+up\s+(?:\w+\s+)?(?:at|to|outside)\s+my\s+{_HOME}\b",
        ),
        needs=_words(
            r"won'?t\s+leave|refus\w*\s+to\s+leave|right\s+now\b|again\b|scared\b|afraid\b|show(?:ed|s|ing)?\s+up\b",
            rf"{_ORDER}|not\s+supposed\b|watching\s+me\b|waiting\s+for\s+me\b",
        ),
    ),
    Rule(
        "safety",
        _words(
            r"(?:violat\w*|broke|break(?:s|ing)?|ignor\w*|need|needs|want|get|getting|file\s+for|filing\s+for"
            r"|apply\s+for|even\s+with|despite|in\s+spite\s+of)\s+"
            rf"(?:an?\s+|the\s+|my\s+|his\s+|her\s+|our\s+|this\s+)?(?:temporary\s+|emergency\s+)?{_ORDER}",
            rf"{_ORDER}\s+(?:was\s+|got\s+|is\s+being\s+)?(?:violated|broken|ignored)\b|{_ORDER}\s+against\b",
        ),
    ),
    # ---------------- self_harm ----------------
    Rule(
        "self_harm",
        _words(
            r"(?:kill|killing|off|offing)\s+myself\b|kms\b|suicid\w*",
            r"(?:going\s+to|gonna|want\s+to|wanna|i'?ll|i\s+will|might|thinking\s+(?:about|of)|feel\s+like|urge\s+to"
            r"|been|started|keep)\s+(?:hurt|harm|cut)(?:t?ing)?\s+myself\b",
            r"(?:hurt|harm|cut)(?:t?ing)?\s+myself\s+again\b",
            r"(?:end|ending|take|taking)\s+my\s+(?:own\s+)?life\b|end(?:ing)?\s+it\s+all\b",
            r"(?:going\s+to|gonna|want\s+to|wanna|ready\s+to|about\s+to)\s+end\s+it\s+(?:all|tonight|today|now|for\s+good)\b",
            r"(?:don'?t|dont|do\s+not|no\s+longer)\s+want\s+to\s+(?:be\s+alive|live|be\s+here|exist|wake\s+up)\b",
            r"(?:want|wanna|wish\s+i\s+could|ready)\s+(?:to\s+)?die\b",
            r"wish\s+i\s+(?:was|were)\s+(?:dead|gone|never\s+born)\b",
            r"better\s+off\s+(?:dead|without\s+me|if\s+i\s+(?:was|were|wasn'?t|weren'?t)\s+(?:dead|gone|here|around|alive))\b",
            r"(?:isn'?t|is\s+not|not|no\s+longer)\s+worth\s+living\b",
            r"(?:no|(?:don'?t|do\s+not|can'?t|cannot)\s+see\s+(?:the|any)|what'?s\s+the|whats\s+the|there'?s\s+no)\s+"
            r"(?:point|reason)\s+(?:in|of|to)\s+(?:living|live|going\s+on|being\s+alive|life)\b",
            r"(?:no\s+one|nobody|noone)\s+(?:would|will)\s+(?:even\s+)?(?:miss\s+me|care|notice)\b",
            r"disappear\s+forever\b|(?:want|wanna|wish\s+i\s+could)\s+(?:to\s+)?(?:just\s+)?disappear\b",
            r"(?:took|swallowed|taken|take)\s+(?:a\s+bunch\s+of|all\s+(?:my|the|of\s+my)|too\s+many|a\s+lot\s+of|\d+)\s+"
            r"(?:\w+\s+)?(?:pills|tablets)\b",
            r"overdos\w*|pills\s+ready\b",
            r"jump(?:ing)?\s+(?:off|from)\s+(?:a|the|my)\s+(?:bridge|roof|building|balcony)\b|never\s+wake\s+up\b",
            r"can'?t\s+(?:keep\s+going|go\s+on)(?=\s*(?:$|[.,!]|like\s+this|anymore))",
            r"tired\s+of\s+(?:living|being\s+alive|life)\b|want\s+it\s+(?:all\s+)?to\s+(?:be\s+over|end)\b",
            r"no\s+quiero\s+(?:vivir|seguir\s+viviendo)\b|quiero\s+morir\w*",
            r"(?:voy\s+a|quiero)\s+(?:matarme|suicidarme)\b|quitarme\s+la\s+vida\b",
        ),
    ),
)

# ICE is immigration enforcement only in capitals; "the roads are all ice" is weather. Read on the raw text.
ICE: Final = re.compile(r"\bICE\b")
