"""Reading an inbound text as an opt-out, an opt-in or a request for help.

Two kinds of error here cost a real person something. A missed revocation keeps texting someone who
said stop, against the FCC rule that consent may be revoked "by any reasonable means" (47 CFR
64.1200(a)(10), reference §4.5). A false opt-out silently cuts a client off from their lawyer.
So the rules are deliberately narrow and deterministic, and every judgement below is pinned by a
labelled example in ``tests/fixtures/keywords.json``.

Order of precedence:

1. Twilio's ``OptOutType`` (``STOP`` / ``START`` / ``HELP``, sent with Advanced Opt-Out) wins: Twilio
   has already acted on it and replied, including for custom keywords we do not know.
2. A body that is a single Twilio keyword, in any case, with any punctuation, quotes, whitespace or
   emoji around it ("Stop!", ``"STOP"``, "stop 🙏"). Twilio blocks and auto-replies to these on long
   codes and toll-free numbers (reference §4.1), so ``twilio_confirms`` is True and Matterline must
   not send a second confirmation. Two words ("STOP PLEASE", "info about my hearing?") are not a
   keyword, exactly as Twilio documents ("Only single-word messages will trigger the block").
   Whether Twilio itself ignores surrounding punctuation and emoji is not documented; True is still
   the safer guess, because the cost of being wrong is a missing optional confirmation, whereas
   False would risk two confirmations where the rule allows one.
3. Plain-language revocations ("please don't text me anymore", "no más mensajes"). Twilio does not
   block these, so ``twilio_confirms`` is False and Matterline sends the one permitted confirmation.
   Only opt-outs have a plain-language form: opting in takes the single word START, YES or UNSTOP,
   and help the single word HELP or INFO ("Start date is Monday" and "helpful, thanks" are neither).

How plain language is recognised. The body is split into sentences and clauses, and a clause counts
only when the revocation is *addressed to the firm*: it must open the clause, after nothing but
courtesies and framing such as "hi Sarah", "please", "ok", "can you", "I told you to", "how do I".
That is what separates "stop texting me" from "my ex won't stop texting me", "can you tell the
landlord to stop texting me", "Should I stop texting the adjuster?", "I stopped texting him" and
"The court said to stop". A clause that opens with a quotation mark is reported speech and skipped.
Then the words after the phrase must not narrow it into something else:

* a third party or a thing as the object ("stop texting my mom", "don't text me the documents");
* a time, frequency or condition ("don't text me at work", "so late", "unless it's urgent"), which
  is a preference the quiet-hours rules serve, not a revocation ("at all" and "until …" still are);
* another sender ("no more texts from the landlord"), or another subject of consent ("I revoke my
  consent to the settlement", "I want to opt out of the class action").

Judgement calls, each pinned by the fixtures:

* A request to make *someone else* stop ("tell them don't text me, call instead") is not a
  revocation of this number's consent, even though "them" could mean firm staff; such texts need a
  human's eye, not an automatic opt-out.
* "Don't text me, call instead" addressed to the firm *is* a revocation: it withdraws consent to
  texts, whatever it says about calls. "Stop calling me" is not: it says nothing about texts.
* "Leave me alone", "wrong number" and "lose my number", addressed to the firm, are revocations a
  reasonable person would understand (a wrong number also means consent was never given), unless
  the text owns the mistake ("Oops, sorry, wrong number" is a client who texted the firm by mistake).
* A bare "stop" (or "unsubscribe", "opt out", "revoke") counts only when the whole text is bare
  stops and courtesies ("Stop, please", "STOP STOP"). In a longer text it as often means "wait"
  ("Stop! Don't file anything yet"), so "Stop. I found another lawyer" is knowingly left to a human.
  A bare "cancel", "end" or "quit" never counts beyond the single keyword: in a longer text it
  usually means an appointment ("Can't make Tuesday. Cancel please.").
* "No texts" / "no more texts" as a question ("No texts yet?", "No more texts?") asks, not revokes.
* A temporary revocation ("don't text me until after the hearing") is a revocation: the client can
  reply START, whereas texting them before then breaks their request. Frequency and channel
  preferences ("so much", "don't text me back", "on WhatsApp") are not.
* The single Spanish words "cancelar" and "alto" are revocations only as the whole text; "no más"
  alone is not, because it also answers "¿algo más?".
* "Not interested", "no thanks" and "who is this?" are not revocations.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["opt_out", "opt_in", "help", "none"]
Source = Literal["keyword", "plain_language", "twilio_opt_out_type", "none"]


@dataclass(frozen=True, slots=True)
class Keyword:
    """What an inbound text asks for.

    `keyword` is the single keyword in upper case for ``source="keyword"`` (and for
    ``twilio_opt_out_type`` when the body is one word), the matched phrase as normalised for
    ``plain_language``, else None. `twilio_confirms` says Twilio has already sent (or will send) the
    confirmation reply, so Matterline must not send its own.
    """

    kind: Kind
    keyword: str | None
    source: Source
    twilio_confirms: bool


NONE: Final = Keyword("none", None, "none", False)

OPT_OUT_KEYWORDS: Final = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS: Final = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS: Final = frozenset({"HELP", "INFO"})

_KEYWORD_KINDS: Final[dict[str, Kind]] = {
    **dict.fromkeys(OPT_OUT_KEYWORDS, "opt_out"),
    **dict.fromkeys(OPT_IN_KEYWORDS, "opt_in"),
    **dict.fromkeys(HELP_KEYWORDS, "help"),
}
_OPT_OUT_TYPES: Final[dict[str, Kind]] = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}

# Whole-text single words that revoke in Spanish but are not Twilio keywords.
_SPANISH_SINGLE: Final = frozenset({"cancelar", "alto"})


def _single_word(body: str) -> str | None:
    """The body as one case-folded word once everything but letters and digits is trimmed off its ends.

    Returns None for an empty body and for more than one word ("stop please", "opt-out", "stop1"):
    the interior must be letters only.
    """
    text = unicodedata.normalize("NFKC", body)
    start, end = 0, len(text)
    while start < end and not unicodedata.category(text[start]).startswith(("L", "N")):
        start += 1
    while end > start and not unicodedata.category(text[end - 1]).startswith(("L", "N")):
        end -= 1
    word = text[start:end]
    if not word or not all(unicodedata.category(char).startswith("L") for char in word):
        return None
    return word.casefold()


# --- plain language -------------------------------------------------------------------------------

_QUOTES: Final = str.maketrans("’‘‛ʼ`´“”„‟«»", "'" * 6 + '"' * 6)
_DONT: Final = re.compile(r"\b(?:do\s+not|don'?t|don\s+t|dnt)\b")
_CLAUSE_SPLIT: Final = re.compile(r"([.!?;,\n\r()\[\]{}]+|\s[-–—]+\s|\s+(?:but|pero)\s+)")
_KEEP: Final = frozenset(" '\"-&/#")
_QUOTE_CHARS: Final = frozenset("'\"")

# Courtesies and framing that may open a clause addressed to the firm, one phrase each. The phrases a
# clause may open with are found by walking these from the start (see `_starts`), never by one regex
# with a repeated alternation: a text is untrusted input, and "hi hi hi ..." must not backtrack
# exponentially.
_LEADS_EN: Final = tuple(
    re.compile(rf"(?:{lead})\s+")
    for lead in (
        r"please|pls|plz|plez|pleas|plse|kindly",
        r"hi|hello|hey|dear",
        r"(?:hi|hello|hey|dear)\s+[a-z]+",
        r"ok|okay|k|kk|yes|yeah|yep|yea|no|nope|nah|sorry|um+|uh+|hmm+",
        r"so|and|also|just|again|seriously|honestly|really|now|look|listen|guys|you\s+guys|y'?all",
        r"thanks|thank\s+you|thx|ty",
        r"(?:thanks|thank\s+you)\s+for(?:\s+[\w']+){1,6}?\s+and",
        r"(?:can|could|would|will)\s+(?:you|u|y'?all)",
        r"i\s+said(?:\s+to)?",
        r"i(?:\s+have|'ve|\s+am|'m)?(?:\s+already)?\s+(?:told|asked|asking|telling)\s+(?:you|u)(?:\s+to)?",
        r"i(?:\s+need|\s+want|\s+would\s+like|'d\s+like)\s+(?:you|u)\s+to",
        r"i(?:\s+would\s+like|'d\s+like|\s+want|\s+wish|\s+need)\s+to",
        r"can\s+i|how\s+(?:do|can|would)\s+i|how\s+to|is\s+there\s+a\s+way\s+to|is\s+it\s+possible\s+to",
    )
)
_LEADS_ES: Final = tuple(
    re.compile(rf"(?:{lead})\s+")
    for lead in (
        r"ya|y|pues|ok|si|gracias",
        r"por\s+favor|porfavor|porfa|favor\s+de",
        r"hola|oiga|disculpe|buenas",
        r"(?:hola|buenas)\s+[a-z]+",
    )
)

_ME = r"(?:me|us|this\s+number|this\s+phone|my\s+(?:number|phone|cell(?:\s+phone)?|mobile)|here)"
_TEXTS = (
    r"(?:text\s+messages?|texts|txts|sms(?:es)?|messages|msgs|text\s+notifications|text\s+updates"
    r"|text\s+reminders|notifications|reminders|alerts|updates)"
)
_GERUND = (
    r"(?:texting|textin'?|txting|texing|txtin'?|messaging|msging|contacting|sms(?:'?ing)?"
    r"|(?:calling|texting)\s+(?:and|or|&|/)\s+(?:calling|texting|messaging))"
)
_SENDING = (
    rf"(?:sending|getting|receiving)(?:\s+me)?(?:\s+(?:any\s*more|more|these|those|the|your|all\s+(?:these|the|of\s+these)))?"
    rf"\s+(?:{_TEXTS}|these|this|stuff|things)"
)
_VERB = (
    r"(?:text|txt|message|msg|sms|contact"
    r"|send\s+(?:me\s+)?(?:any\s*more\s+|more\s+|any\s+)?(?:texts|text\s+messages|messages))"
)
# At least one texting verb: "don't call or text me" revokes texts, "don't call me" does not.
_VERBS = rf"(?:{_VERB}(?:\s+(?:or|and|&|/)\s+(?:{_VERB}|call))?|call\s+(?:or|and|&|/)\s+{_VERB})"

_ENGLISH = [
    # "stop texting me", "please quit messaging me", "stop sending me texts", "stop these texts"
    rf"(?:stop|quit|cease|end)(?:\s+all)?\s+(?:{_GERUND}(?:\s+{_ME})?|{_SENDING}"
    rf"|(?:these|the|your|all\s+(?:these|the|your)|all)\s+{_TEXTS})",
    rf"(?:stop|quit)\s+(?:text|txt|message|msg)\s+{_ME}",
    rf"cancel(?:\s+(?:the|these|my|all|your|all\s+(?:the|these|my)))?\s+(?:{_TEXTS}|texting|subscription)",
    rf"(?:stop|enough)\s+with\s+(?:the|these|all\s+(?:the|these)|your)\s+{_TEXTS}",
    # "don't text me", "never text me again", "do not contact me"
    rf"(?:dont|never|no\s+need\s+to)(?:\s+ever)?\s+{_VERBS}(?:\s+{_ME})?",
    # "I don't want to get texts anymore", "I no longer wish to receive text messages"
    rf"i\s+(?:dont|no\s+longer|really\s+dont|dont\s+really)\s+(?:want|wish|need|like)(?:\s+to)?"
    rf"(?:\s+(?:get|receive|be\s+getting|be\s+receiving|keep\s+getting|keep\s+receiving|be\s+sent))?"
    rf"(?:\s+any)?(?:\s+more)?(?:\s+(?:your|these|the|those))?\s+(?:{_TEXTS}|texting)",
    r"i\s+(?:dont|no\s+longer)\s+(?:want|wish)\s+(?:to\s+be|being)\s+(?:texted|messaged|contacted)",
    rf"i\s+(?:dont|no\s+longer)\s+(?:want|wish)\s+(?:you|u|y'?all)\s+(?:to\s+)?(?:{_VERB}|{_GERUND})\s+{_ME}",
    # "unsubscribe me", "opt me out", "opt out of texts"
    rf"(?:unsubscribe|unsub|unsuscribe|unsubcribe)(?:\s+me)?(?:\s+from\s+(?:(?:these|the|your|all|this)\s+)?"
    rf"(?:{_TEXTS}|texting|list|this|these|everything))?",
    rf"opt(?:\s+me)?(?:\s+|-)?out(?:\s+(?:of|from)\s+(?:(?:these|the|your|all|this)\s+)?(?:{_TEXTS}|texting|this|these|text))?",
    # "remove me from your texting list", "take me off the list", "delete my number"
    r"(?:remove|take|delete|drop|erase)\s+(?:me|my\s+(?:number|phone\s+number|cell|cell\s+number|phone|contact|info))"
    r"(?:\s+(?:off|from))?(?:\s+(?:of\s+)?(?:your|the|this|all|ur|all\s+your|any|all\s+of\s+your))?"
    r"(?:\s+(?:text|texting|txt|sms|message|messaging|contact|call|calling|phone|distribution|notification|alert"
    r"|reminder|marketing))?\s+(?:lists?|system|database|contacts)",
    r"(?:remove|delete|erase|lose)\s+my\s+(?:number|phone\s+number|cell\s+number|cell|contact)(?=\s*$)",
    r"(?:remove|take)\s+me(?:\s+off)?(?=\s*$)",
    # "I revoke my consent to text messages"; another object of consent is ruled out by the lookahead
    rf"(?:i\s+)?(?:hereby\s+)?(?:revoke|withdraw|rescind|retract|take\s+back|cancel)(?:\s+(?:my|all|any|all\s+my))?"
    rf"\s+(?:consent|permission|authori[sz]ation|opt-?\s?in)"
    rf"(?:\s+(?:to|for)(?:\s+(?:receive|receiving|get|getting|be\s+sent|being\s+sent))?(?:\s+any)?"
    rf"\s+(?:{_TEXTS}|text|texting|being\s+texted|be\s+texted|you\s+texting\s+me|contact))?(?!\s+(?:to|for)\b)",
    rf"i\s+(?:dont|no\s+longer|do\s+no\s+longer)\s+(?:consent|agree)\s+to(?:\s+(?:receive|receiving|get|getting))?"
    rf"(?:\s+any)?\s+(?:{_TEXTS}|texting|being\s+texted|you\s+texting\s+me|contact)",
    r"leave\s+me\s+alone",
]

# A bare keyword with only courtesies ("please stop", "STOP STOP"); counted only when every clause of
# the text is one (see `plain_language_revocation`). Not cancel/end/quit: those mean appointments.
_BARE_WORD = r"(?:stop|stopall|unsubscribe|unsub|opt\s*-?\s*out|revoke)"
_BARE = (
    r"^(?:(?:ok|okay|yes|yeah|no|please|pls|plz|just|again|seriously|hey|hi|now|i\s+said)\s+)*"
    rf"(?P<m>{_BARE_WORD}(?:\s+(?:{_BARE_WORD}|please|pls|plz|now|thanks|thank\s+you|thx|immediately|asap|already"
    r"|right\s+now|for\s+real|seriously|all|texting|texts|the\s+texts|messages|the\s+messages))*)$"
)
_WRONG_NUMBER = (
    r"^(?:(?:sorry|hi|hello|hey|um+|uh+|i\s+think|ok)\s+)*"
    r"(?P<m>(?:(?:you\s+have|you've\s+got|youve\s+got|you\s+got|u\s+have|u\s+got|this\s+is|it's|its)(?:\s+(?:the|a))?\s+)?"
    r"wrong\s+(?:number|person|\#))(?:\s+(?:sorry|please|pls|thanks|lol|buddy|mate|dude))*$"
)

_MENSAJES = r"(?:mensajes(?:\s+de\s+texto)?|textos|sms|msjs|mensajitos)"
_SPANISH = [
    rf"(?:ya\s+)?no\s+(?:quiero\s+|deseo\s+)?(?:recibir\s+)?mas\s+{_MENSAJES}",
    rf"(?:ya\s+)?no\s+(?:quiero|deseo)\s+(?:recibir\s+|seguir\s+recibiendo\s+)?(?:mas\s+)?{_MENSAJES}",
    rf"(?:deja|dejen|deje|dejar|dejad)\s+de\s+(?:(?:enviar|mandar)(?:me)?(?:\s+mas)?\s+{_MENSAJES}"
    rf"|(?:enviarme|mandarme|escribirme|textearme|mensajearme|contactarme)(?:\s+(?:mas\s+)?{_MENSAJES})?)",
    rf"(?:ya\s+)?no\s+me\s+(?:manden|mande|mandes|envien|envie|envies|escriban|escriba|escribas|contacten|contacte"
    rf"|textees|texteen|textee)(?:\s+(?:mas|nada|ningun|ninguno|ningunos))*(?:\s+{_MENSAJES})?",
    r"(?:(?:quiero|deseo)\s+)?(?:darme|dar|darse)\s+de\s+baja",
    rf"cancelar\s+(?:la\s+|mi\s+)?(?:suscripcion|subscripcion|los\s+{_MENSAJES}|{_MENSAJES})",
    rf"basta\s+de\s+{_MENSAJES}",
]


def _phrases(patterns: list[str]) -> re.Pattern[str]:
    """One alternation of revoking phrases, to be matched where a clause's courtesies end."""
    body = "|".join(f"(?:{pattern})" for pattern in patterns)
    return re.compile(rf"(?P<m>{body})(?=\s|$)")


_ADDRESSED: Final = ((_LEADS_EN, _phrases(_ENGLISH)), (_LEADS_ES, _phrases(_SPANISH)))
# "No more texts please", "no texts, only calls"; as a question ("No texts yet?") it asks, not revokes.
_NO_TEXTS: Final = (_LEADS_EN, _phrases([rf"no(?:\s+more)?\s+(?:{_TEXTS}|texting(?:\s+me)?)"]))
_BARE_CLAUSE: Final = re.compile(_BARE, re.VERBOSE)
_COURTESY: Final = re.compile(
    r"^(?:(?:please|pls|plz|thanks|thank\s+you|thx|ty|ok|okay|now|seriously|i\s+mean\s+it|for\s+real)(?:\s+|$))+$"
)
_WRONG_NUMBER_CLAUSE: Final = re.compile(_WRONG_NUMBER, re.VERBOSE)
# "Oops, sorry, wrong number": the client texted the firm by mistake, which revokes nothing.
_OWN_MISTAKE: Final = re.compile(
    r"\b(?:oops|whoops|my\s+bad|meant\s+(?:to\s+send|for)|wrong\s+(?:chat|thread|conversation))\b"
)

# What may not follow the phrase: a thing or another person as object, a time or condition.
_NARROWING: Final = re.compile(
    r"""^(?:\d|(?:
        the | that | those | these | this(?!\s+(?:number|phone)) | him | her | them | his | their | it | its
      | my(?!\s+(?:number|phone|cell|mobile))
      | of | if | unless | except | only | when | whenever | while
      | during | before | after | between | past | yet | late | early | every | each | back
      | for\s+(?:me|us|you)\b | via | through | by\s+(?:email|e-mail|mail|whatsapp)
      | on\s+(?:whatsapp|facebook|messenger|instagram|fb|ig|signal|telegram|email|social|my\s+work)
      | today | tonight | tomorrow | this\s+(?:week|weekend|morning|afternoon|evening)
      | at(?!\s+all\b) | so\s+(?:early|late|much|often|many) | too\s+(?:early|late|much|often|many)
      | as\s+(?:much|often)
      | on\s+(?:weekends?|weekdays?|the\s+weekend|holidays?|(?:mon|tues|wednes|thurs|fri|satur|sun)days?)
      | in\s+the\s+(?:morning|evening|afternoon|night|middle)
      | (?:any\s+)?(?:pictures?|photos?|pics?|documents?|docs?|files?|links?|forms?|attachments?|copies|copy
          |bills?|invoices?|passwords?|codes?|details|personal|private|sensitive|confidential|info|information
          |addresses?)
      | en\s+(?:ingles|espanol|el\s+trabajo) | por\s+la\s+(?:manana|noche|tarde) | temprano | tarde | antes
      | despues | hoy | los\s+(?:fines|domingos|sabados) | el\s+(?:fin|domingo|sabado) | cuando
      | a\s+(?:esta|estas)\s+horas? | tan\s+(?:temprano|tarde) | por\s+(?:whatsapp|facebook|correo)
    )\b)""",
    re.VERBOSE,
)
# Another sender: "from" anything but the firm ("from you", "from your office", "from Smith Law").
_THIRD_PARTY: Final = re.compile(
    r"""\bfrom\s+(?!(?:you|your|u|ur|y'?all|you\s+guys|this(?:\s+(?:number|firm|office|law\s+firm))?
        |the\s+(?:firm|office|law\s+firm)|(?:[\w&'.]+\s+){0,4}(?:law|legal|llp|llc|pllc|pc)(?:\s+(?:firm|office|group))?)
        (?:\s|$))
      | \b(?:de|del)\s+(?:el|ella|ellos|ellas|mi|mis|su|sus|la\s+corte|el\s+juez|ese|esa)\b""",
    re.VERBOSE,
)


def _normalise(body: str) -> str:
    """Case-folded, accent-free text with typographic quotes straightened and "do not" spelled "dont"."""
    text = unicodedata.normalize("NFKC", body).casefold().translate(_QUOTES)
    text = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    return _DONT.sub("dont", text)


@dataclass(frozen=True, slots=True)
class _Clause:
    text: str
    question: bool


def _clauses(text: str) -> list[_Clause]:
    """Clauses of normalised text with symbols and emoji blanked, each marked if a "?" ends it.

    Clauses opening with a quotation mark are reported speech and dropped.
    """
    pieces = _CLAUSE_SPLIT.split(text)
    clauses: list[_Clause] = []
    for index in range(0, len(pieces), 2):
        after = pieces[index + 1] if index + 1 < len(pieces) else ""
        chars = [char if char.isalnum() or char in _KEEP else " " for char in pieces[index]]
        clause = " ".join("".join(chars).split())
        if not clause or clause[0] in _QUOTE_CHARS:
            continue
        clause = clause.strip(" -&/#")
        if clause:
            clauses.append(_Clause(clause, "?" in after))
    return clauses


def _starts(clause: str, leads: tuple[re.Pattern[str], ...]) -> list[int]:
    """Every offset a clause can be read from once some run of courtesies has been skipped.

    A breadth-first walk over word offsets: at most one visit per offset, so it stays linear in the
    number of words however ambiguous the courtesies are.
    """
    seen = {0}
    frontier = [0]
    while frontier:
        offset = frontier.pop()
        for lead in leads:
            match = lead.match(clause, offset)
            if match is not None and match.end() not in seen:
                seen.add(match.end())
                frontier.append(match.end())
    return sorted(seen)


def _addressed(clause: str, leads: tuple[re.Pattern[str], ...], phrases: re.Pattern[str]) -> str | None:
    """A revoking phrase opening `clause` after its courtesies, unless what follows narrows it."""
    for offset in _starts(clause, leads):
        phrase = _accept(phrases, clause, offset)
        if phrase is not None:
            return phrase
    return None


def _accept(pattern: re.Pattern[str], clause: str, offset: int = 0) -> str | None:
    """The phrase `pattern` finds at `offset`, unless what follows narrows it into something else."""
    match = pattern.match(clause, offset)
    if match is None:
        return None
    rest = clause[match.end() :].strip(" '\"-")
    if _NARROWING.match(rest) or _THIRD_PARTY.search(rest):
        return None
    return match.group("m")


def plain_language_revocation(body: str) -> str | None:
    """The first plain-language revocation addressed to the firm in `body`, as normalised, else None.

    A bare "stop" counts only when the whole text is bare stops and courtesies ("Stop, please",
    "STOP STOP"): in a longer text it is as likely to mean "wait" ("Stop! Don't file it yet").
    """
    word = _single_word(body)
    if word in _SPANISH_SINGLE:
        return word
    text = _normalise(body)
    clauses = _clauses(text)
    for clause in clauses:
        candidates = _ADDRESSED if clause.question else (*_ADDRESSED, _NO_TEXTS)
        for leads, phrases in candidates:
            phrase = _addressed(clause.text, leads, phrases)
            if phrase is not None:
                return phrase
    if not _OWN_MISTAKE.search(text):
        for clause in clauses:
            phrase = _accept(_WRONG_NUMBER_CLAUSE, clause.text)
            if phrase is not None:
                return phrase
    if clauses and all(_BARE_CLAUSE.match(clause.text) or _COURTESY.match(clause.text) for clause in clauses):
        for clause in clauses:
            phrase = _accept(_BARE_CLAUSE, clause.text)
            if phrase is not None:
                return phrase
    return None


def keyword_only(body: str, opt_out_type: str | None = None) -> Keyword:
    """Twilio's `OptOutType` and single-word keywords only: constant work, cheap enough for the webhook.

    Plain-language revocations (`classify`) take a regex pass over every clause of the text, so they are
    recognised at intake, in the worker, which takes texts in before it sends anything.
    """
    word = _single_word(body)
    upper = word.upper() if word is not None else None
    twilio_kind = _OPT_OUT_TYPES.get((opt_out_type or "").strip().upper())
    if twilio_kind is not None:
        return Keyword(twilio_kind, upper, "twilio_opt_out_type", True)
    if upper is not None and upper in _KEYWORD_KINDS:
        return Keyword(_KEYWORD_KINDS[upper], upper, "keyword", True)
    return NONE


def classify(body: str, opt_out_type: str | None = None) -> Keyword:
    """What an inbound `body` asks for, given Twilio's `OptOutType` parameter when it sent one."""
    found = keyword_only(body, opt_out_type)
    if found.kind != "none":
        return found
    phrase = plain_language_revocation(body)
    if phrase is not None:
        return Keyword("opt_out", phrase, "plain_language", False)
    return NONE
