"""Escalation: which inbound client texts must mark the thread urgent and give the attorney a task.

The two errors cost different people different things. A missed escalation leaves a client who has
just been arrested, served, threatened or who is thinking of ending their life waiting in an
ordinary queue; a false escalation pages an attorney about "I could kill for a coffee". Missing one
is worse, so the rules lean towards recall, but a flag that cries wolf on every "killing it" gets
ignored, so idioms and negations are handled explicitly. Every judgement below is pinned by a
labelled example in ``tests/fixtures/escalation_texts.json``.

The rules are deterministic regular expressions over a normalised copy of the text (case-folded,
accents stripped so "policía" reads as "policia", typographic quotes straightened), compiled once
at import. A text is read in three passes:

1. **Idioms are masked out** before anything else looks at the text: "dying to know", "killing it",
   "my back is killing me", "I could kill for a coffee", "court of public opinion", "arrested
   development", "food court", "hearing aid", "jail-broken", "like a detective", "custody of the dog",
   "chain of custody", "hit me up", "my work deadline", a job ("my cousin is a cop", "works as a
   guard at the jail"). Masking replaces the idiom with spaces of the same length, so offsets into
   the text survive. Hyperbole ("mom is gonna kill me if I'm late", "I'd end up in jail") is masked
   only when the text laughs ("lol", "haha", 😂): without the laugh, "my husband will kill me if he
   finds out" is a warning sign and is escalated.
2. **Triggers** per category, each judged within its sentence. Strong triggers count on their own
   ("arrested", "in county jail", "violated the restraining order", "kill myself"). Weak triggers
   need a second signal: a hearing, "court", a trial or a judge counts only with a time still to
   come ("tomorrow", "Thursday", "on the 14th", "9am", "now"), so "the hearing went really well"
   and "thank you for coming to court with me yesterday" do not; a bare "deadline" needs a time or
   "missed"; "he took the kids" needs a sign the children are being withheld ("without telling
   me", "won't answer", "out of state"), because "my ex took the kids to Disney" is a weekend.
   Some triggers are cancelled by their sentence: police words in a sentence about a *report* (a
   police report for a crash already filed is paperwork, "police are here" is an event), court and
   police words next to an outcome already reached ("court was fine today", "the cop was nice"),
   an arrest next to a year or an expungement (a record, not tonight's arrest), and court, arrest
   and police words in a sentence about the news, a documentary or a show.
3. **Negation**: a trigger preceded within its clause (three words, not across a comma) by "no",
   "not", "never", "wasn't", "haven't", ... does not count ("no court date yet", "they haven't set a
   hearing", "he wasn't arrested"), unless the clause is a condition ("if I don't sign by Monday").
   Phrases that carry their own negation ("won't bring them back", "I don't feel safe") are exempt.

Categories. ``deadline``: a legal time limit running against the client (a response, answer or
appeal due, a notice to quit, a default). ``court_date``: an upcoming or missed hearing, trial,
arraignment, sentencing or appearance. ``arrest``: someone arrested, jailed, detained, on bail or
wanted on a warrant ("taken into custody" is an arrest, not a custody matter). ``police``: police,
detectives, deputies or immigration agents acting now (at the door, calling, wanting a statement).
``custody``: children withheld, taken, not returned, or a child-protection agency involved.
``safety``: violence, threats, weapons, stalking, a protective or restraining order needed or
violated (restraining orders belong here, not under custody: they protect a person). ``self_harm``:
suicidal thoughts or intent; the caller adds a crisis line (988) to the auto-reply.

Spanish is covered for the commonest phrasings ("tengo corte el martes", "arrestaron a mi hijo",
"me amenazó", "no quiero vivir"); anything else still reaches a human in the ordinary queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from connector.guardrails.urgency_matching import triggers

CATEGORIES: Final = ("deadline", "court_date", "arrest", "police", "custody", "safety", "self_harm")


@dataclass(frozen=True, slots=True)
class Escalation:
    """Why an inbound text is urgent.

    `categories` are in `CATEGORIES` order without duplicates; `matches` are the phrases that
    triggered them, exactly as they appear in the text, in the order found, for the attorney's task.
    """

    categories: tuple[str, ...]
    matches: tuple[str, ...]

    @property
    def self_harm(self) -> bool:
        """True when the auto-reply must carry a crisis line (988) as well as the firm's."""
        return "self_harm" in self.categories


def classify(text: str) -> Escalation | None:
    """The escalation an inbound `text` calls for, or None when nothing in it is urgent."""
    if not text or not text.strip():
        return None
    found = triggers(text)
    if not found:
        return None
    categories = {category for category, _ in found}
    matches = tuple(dict.fromkeys(text[start:end] for start, end in sorted(span for _, span in found)))
    return Escalation(tuple(category for category in CATEGORIES if category in categories), matches)
