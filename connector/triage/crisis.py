"""Self-harm and crisis language, which must never be missed: a text that says it decides urgent on its
own, whatever the model's score.

Clients rarely write "suicide". They write "I won't be a problem for anyone after tonight", "wanted to
say thanks for everything before I go", "the pills aren't working fast enough", "mejor ya no
despertar", or a relative writes that the client "texted me goodbye". The escalation rules catch the
explicit phrasings; these patterns add the indirect ones: wanting not to be alive, a goodbye, being a
burden, giving things away, pills taken or saved, a place to jump or a car running in a garage, and
their Spanish. Each pattern is narrow enough that a text using the words loosely ("this case is
killing me lol", "I'm done with this landlord") does not match; a laugh does not cancel them, because
a joke about dying is the one false alarm worth paying for.
"""

from __future__ import annotations

import re
from typing import Final

from connector.triage.folding import plain

__all__ = ["crisis"]

_PATTERNS: Final = (
    # Not wanting to live or to be here.
    r"\b(?:kill|hurt|harm|cut(?:ting)?|hurting)\s+(?:my ?self|him ?self|her ?self)\b",
    r"\bsuicid\w*",
    r"\bend(?:ing)?\s+(?:it all|my life|it here|my own life)\b",
    r"\bthinking about ending it\b",
    r"\btake\s+my\s+(?:own\s+)?life\b",
    r"\b(?:do ?n'?t|dont|don t|does ?n'?t|doesnt|not sure i)\s+(?:want|wanna)\s+(?:to\s+)?"
    r"(?:live|be here|be alive|wake up|be around)",
    r"\bsleep\s+(?:and|n|&)\s+not\s+wake\s+up\b",
    r"\b(?:rather|better)\s+(?:be\s+)?dead\b|\brather\s+die\b|\bwish\s+i\s+(?:was|were)\s+dead\b",
    r"\b(?:be|b)\s+better\s+(?:off\s+)?(?:without|w/?o)\s+me\b",
    r"\bbetter\s+off\s+if\s+i\s+(?:just\s+)?(?:was|were)\s*n'?t\b",
    r"\b(?:easier|simpler|better)\s+for\s+everyone\s+if\s+i\b",
    r"\bdisappear(?:ed)?\s+(?:permanently|for good|forever)\b",
    r"\bnot\s+(?:going\s+to|gonna)\s+be\s+around\b",
    r"\bjust\s+not\s+be\s+here\s+anymore\b|\b(?:do ?n'?t|dont)\s+think\s+i'?ll\s+make\s+it\b",
    r"\bwon'?t\s+be\s+(?:a problem|around|here)\s+(?:for anyone|much longer|after)\b",
    r"\bwon'?t\s+be\s+there\s+to\s+see\b",
    r"\b(?:not|won'?t)\s+(?:make it|survive)\s+(?:to|until|till|past|it)\b",
    r"\bnot\s+(?:going|goin)\s+back\s+alive\b",
    r"\bbefore\s+i\s+go\b(?!\s+to\b)",
    r"\b(?:say(?:ing)?|texted(?:\s+me)?|sent(?:\s+me)?\s+a?\s*(?:text|message)?\s*(?:saying)?)\s+goodbye\b",
    r"\bgoodbye everyone\b",
    r"\b(?:no|any|the)\s+(?:point|reason)\s+(?:to|of|in|for)\s+"
    r"(?:anything|any of it|it all|carry(?:ing)? on|living|going on|fighting)\b",
    # "I don't see the point anymore", not "I don't see the point of going to the status conference".
    r"\b(?:do ?n'?t|dont|can'?t|cant)\s+see\s+the\s+point"
    r"(?:\s+(?:anymore|any more|of (?:anything|any of it|living|it all|going on)))?"
    r"(?:\s+any\s*more)?(?=\s*(?:[.!,;]|$))",
    r"\bno\s+reason\s+to\s+(?:carry\s+on|live|go\s+on)\b",
    r"\bwhat'?s\s+the\s+point\s+of\s+(?:fighting|living|going on|any)",
    r"\b(?:can'?t|cant|cannot)\s+(?:do\s+this|go\s+on|take\s+it|keep\s+going)\s*any\s*more?\b",
    r"\b(?:i'?m|im|i am|he'?s|hes|she'?s|shes)\s+done\.?\s+(?:like\s+)?actually\s+done\b",
    r"\bi'?ve\s+decided\s+i'?m\s+done\b|\bsays\s+he\s+has\s+a\s+knife\s+and\s+he'?s\s+done\b",
    r"\b(?:if|when)\s+i\s+lose\s+(?:the\s+)?\w+.{0,20}\bi'?m\s+done\b",
    r"\bburden\s+(?:on|to)\s+(?:everyone|everybody|my|them|you)\b|\bbeing\s+a\s+burden\b",
    r"\bdone\s+hanging\s+in\b",
    # Pills taken, too many, or saved; other means.
    r"\b(?:took|taken|swallowed|take|tomado|tome)\s+"
    r"(?:all|a bunch|too many|2 many|to many|some|a lot|more|varias)\b.{0,40}"
    r"\b(?:pills|meds|antidepressants|pastillas|tablets)\b",
    r"\b(?:took|swallowed)\s+(?:all\s+of\s+)?(?:my|the|her|his)\s+(?:\w+\s+)?(?:pills|meds)\s+at\s+once\b",
    r"\b(?:pills|meds)\s+(?:aren'?t|arent|are not)\s+working\s+fast\b",
    r"\bsaving\s+(?:them|up|my|the)\b.{0,20}\b(?:pills|meds)\b|\b(?:pills|meds)\b.{0,40}\bsaving\s+them\s+up\b",
    r"\boverdos\w*",
    r"\bpills\b.{0,80}\btook\s+(?:more|them\s+again|the\s+rest)\b",
    r"\bworthless\b.{0,80}\bgun\b|\bgun\b.{0,80}\bworthless\b",
    r"\b(?:rope\s+out|the\s+rope)\b",
    r"\b(?:looking at|thinking about|parked (?:at|on|by)|driving past|up on|standing on)\s+(?:the\s+)?"
    r"(?:train\s+)?(?:tracks|bridge|roof|ledge)\b|\bup on the roof\b|\bkeep looking at the tracks\b",
    r"\bgarage\s+with\s+(?:it|the car|the engine)\s+running\b",
    r"\bmake\s+it\s+look\s+like\s+an\s+accident\b",
    r"\bnot\s+safe\s+with\s+myself\b|\bscared\s+of\s+me\b",
    r"\bthoughts\s+of\s+(?:hurting|killing|harming)\s+myself\b",
    # Putting affairs in order.
    r"\b(?:gave|giving)\s+(?:away\s+)?my\s+(?:dog|cat|stuff|things|belongings)\b.{0,60}",
    r"\bgiving\s+my\s+(?:stuff|things)\s+away\b",
    r"\b(?:wrote|written)\s+(?:letters|a letter)\s+(?:for|to)\s+(?:each\s+of\s+)?my\s+"
    r"(?:kids|children|son|daughter|family)\b",
    r"\btell\s+my\s+(?:daughter|son|kids|children|mom|mother|wife|husband)\s+i\s+love\b",
    r"\b(?:life insurance|pension)\b.{0,80}\b(?:if something happens to me|would (?:at least )?get|still get)\b",
    r"\bat\s+least\s+my\s+\w+\s+would\s+get\s+the\s+(?:life\s+)?insurance\b",
    r"\bweren'?t\s+alive\s+anymore\b",
    # Warning signs as crisis lines list them, in the words people use for them.
    # ...but not dying "of embarrassment" or "de la risa", the idioms.
    r"\b(?:want|wanna|wanted|going|gonna)\s+(?:to\s+)?die\b(?!\s+(?:of|from)\s+(?:embarrassment|laughter|laughing|boredom|shame|cringe))|\bwish\s+i\s+(?:could|would)\s+(?:just\s+)?die\b",
    r"\b(?:want|need)\s+(?:it|this|everything)\s+(?:all\s+)?to\s+(?:be\s+over|end|stop)\s+(?:for good|forever)\b",
    r"\bnothing\s+(?:left\s+)?to\s+live\s+for\b",
    r"\b(?:can'?t|cant|cannot)\s+live\s+(?:like\s+this|with\s+(?:this|myself))\b",
    r"\b(?:when|after|once)\s+i'?m\s+(?:gone|dead|not here)\b|\bwhen\s+i'?m\s+no\s+longer\s+here\b",
    r"\bwon'?t\s+(?:need|be\s+needing)\s+(?:it|them|any\s+of\s+it|my\s+\w+)\s+(?:anymore|any\s+more|where\s+i'?m\s+going)\b",
    r"\b(?:this\s+is|consider\s+this)\s+(?:my\s+)?(?:goodbye|my\s+last\s+(?:text|message))\b",
    r"\bmy\s+last\s+(?:text|message)\s+(?:to you|ever)\b",
    r"\btake\s+care\s+of\s+my\s+(?:kids|children|son|daughter|dog|cat|mom|mother)\s+for\s+me\b",
    r"\b(?:hang|shoot|drown|poison)\s+my\s*self\b|\b(?:slit|cut)\s+my\s+wrists?\b",
    r"\bjump\s+(?:off\s+(?:a|the|that)\s+(?:bridge|roof|building|overpass|ledge)|in\s+front\s+of\s+(?:a|the)\s+(?:train|bus|truck))\b",
    r"\b(?:put|putting|get|getting)\s+my\s+affairs\s+in\s+order\b",
    r"\b(?:rather|going\s+to|gonna|want\s+to|wanna|might|could)\s+(?:just\s+)?end\s+(?:it|things|everything)\b",
    # Not expecting to be alive: "if I'm not alive for the trial", "I don't plan on still being around".
    r"\b(?:if|when)\s+i'?m\s+(?:not|no\s+longer)\s+alive\b|\bplan(?:ning)?\s+on\s+(?:still\s+)?being\s+(?:around|alive|here)\b",
    r"\b(?:might|may|will)\s+not\s+be\s+(?:around|alive|here)\s+(?:by|for|after|much|to)\b",
    r"\bwon'?t\s+be\s+(?:around|alive|here)\s+(?:to\s+see|by|for\s+(?:the|it|that|much))\b",
    r"\bdon'?t\s+expect\s+to\s+(?:see\s+the\s+end|be\s+(?:around|alive|here))\b",
    r"\b(?:not\s+going\s+to|won'?t|can'?t|cant|cannot)\s+keep\s+going\b",
    r"\bdon'?t\s+deserve\s+to\s+(?:live|be\s+here|be\s+alive)\b|\bi'?m\s+(?:just\s+)?a\s+burden\b",
    # A plan, a means, a place.
    r"\b(?:a|my)\s+plan\s+and\s+a\s+date\b|\bi\s+know\s+how\s+i'?(?:d|ll|would|will)\s+do\s+it\b",
    r"\bhow\s+(?:much|many)\s+\w+(?:\s+\w+)?\s+(?:would|will)\s+be\s+enough\b",
    r"\bi'?m\s+(?:on|at)\s+the\s+(?:roof|bridge|ledge|tracks|edge|cliff|quarry)\b",
    r"\b(?:been\s+)?cutting\s+(?:again|myself|my\s+(?:arms?|legs?|wrists?))\b|\bhurting\s+myself\s+again\b",
    r"\b(?:insurance|policy)\b.{0,120}\b(?:not\s+an\s+accident|self[- ]inflicted|suicide\s+clause)\b"
    r"|\b(?:not\s+an\s+accident|self[- ]inflicted)\b.{0,120}\b(?:insurance|policy)\b",
    # Goodbyes and arrangements.
    r"\bwon'?t\s+(?:be\s+)?need(?:ing)?\s+(?:the|my|your|our|that)\s+(?:next\s+)?(?:appointment|meeting|slot|services|help)\b",
    r"\b(?:won'?t|will\s+not|no\s+longer)\s+(?:matter|be\s+of\s+(?:any\s+)?use)\s+to\s+me\b",
    r"\bgoodbye\s+(?:my\s+friends|everyone|all|world|cruel)\b|\bdon'?t\s+try\s+to\s+(?:change\s+my\s+mind|stop\s+me|find\s+me)\b",
    r"\bif\s+(?:nobody|no\s+one|you\s+don'?t)\s+hears?\s+from\s+me\b",
    r"\bwho\s+(?:should|will|would)\s+(?:take|get|have)\s+my\s+(?:cats?|dogs?|pets?|kids|children|son|daughter)\b",
    r"\bgoodbye\s+(?:letters?|notes?|messages?|videos?)\b",
    r"\b(?:take|taking|took|swallow\w*)\s+(?:the\s+)?(?:whole|entire)\s+(?:bottle|pack|box|prescription)\b",
    r"\b(?:drive|driving|drove)\s+(?:my\s+car\s+)?(?:off\s+(?:a|the)\s+(?:bridge|cliff|overpass)"
    r"|into\s+(?:oncoming\s+traffic|a\s+wall|a\s+tree))\b",
    r"\b(?:see|find|have)\s+(?:a|any|no)\s+reason\s+to\s+(?:keep\s+going|go\s+on|carry\s+on|live|be\s+here)\b",
    # A means at hand, a letter to be read after, a last visit, things given away "won't be needed".
    r"\b(?:the|my|a)\s+(?:gun|pistol|rifle|knife|blade|razor)\s+(?:is\s+)?(?:out|loaded|on\s+the\s+table|in\s+my\s+(?:hand|lap))\b",
    r"\b(?:knife|gun|pills|blade|razor|rope)\s+in\s+my\s+hand\b",
    r"\bwhen\s+(?:they|you|she|he|my\s+\w+)\s+(?:read|reads|find|finds)\s+(?:the|my)\s+(?:letter|note)\b",
    r"\b(?:see|hug|hold|talk\s+to|say\s+bye\s+to)\s+my\s+(?:kids|children|son|daughter|mom|mother|family)\s+(?:one\s+(?:more|last)|1\s+(?:more|last))\s+time\b",
    r"\b(?:gave|giving|given)\s+(?:away\s+)?(?:his|her|their|all\s+(?:my|his|her))\s+(?:stuff|things|belongings|games|clothes)\b"
    r"|\bgiving\s+(?:his|her|their)\s+(?:stuff|things)\s+away\b",
    r"\b(?:never\s*mind|forget)\s+(?:about\s+)?(?:the|my)\s+(?:will|case|papers|appeal|hearing|claim)\b.{0,40}"
    r"\b(?:does\s*n'?t|doesnt|won'?t)\s+matter\s+(?:now|anymore|any\s+more)\b",
    r"\b(?:if|when)\s+it\s+looks\s+like\s+an\s+accident\b",
    r"\bstopped\s+eating\b.{0,60}\b(?:waiting|point|last\s+straw)\b",
    r"\b(?:tired|sick)\s+of\s+(?:living|being\s+alive|life|being\s+here)\b",
    r"\bpills\b.{0,20}\b(?:lined\s+up|laid\s+out|counted\s+out|out\s+on\s+the)\b",
    r"\b(?:won'?t|wont|don'?t\s+think\s+i'?ll)\s+be\s+anywhere\b",
    r"\bwon'?t\s+be\s+needing\s+(?:it|them)\b.{0,40}\bthank\s+(?:u|you)\s+for\s+everything\b",
    r"\byou'?ll\s+know\s+what\s+to\s+do\s+(?:after|when)\b",
    r"\bgarage\b.{0,80}\b(?:car|truck|engine)\s+(?:is\s+)?running\b|\b(?:car|truck|engine)\s+running\b.{0,60}\bgarage\b",
    r"\b(?:do ?n'?t|dont)\s+think\s+i'?ll\s+be\s+(?:around|here|alive)\b",
    r"\bif\s+i'?m\s+not\s+(?:here|around)\s+any\s*more\b",
    r"\b(?:be\s+)?(?:ok|okay|fine|alright)\s+without\s+me\b",
    r"\bmade\s+(?:my|his|her)\s+peace\b",
    r"\b(?:gun|pistol|rifle|glock)\s+out\s+of\s+the\s+safe\b|\btook\s+(?:his|her)\s+(?:gun|pistol|rifle|glock)\s+and\s+left\b",
    r"\btold\s+(?:my\s+\w+|her|him|them|everyone)\s+goodbye\b",
    r"\bsee\s+the\s+point\s+of\s+(?:\w+\s+or\s+of\s+)?anything\b",
    r"\bchecking\s+out\s+(?:tonight|for\s+good|permanently)\b",
    r"\b(?:won'?t|wont|not\s+(?:gonna|going\s+to))\s+(?:need|be\s+needing)\s+(?:a\s+lawyer|it|them|any\s+of\s+it)\s+where\s+i'?m\s+(?:going|headed)\b",
    r"\bwhat'?s\s+left\s+to\s+(?:fight|live)\s+for\b",
    r"\bwrote\s+(?:each\s+of\s+)?(?:the|my)\s+(?:kids|children)\s+(?:a\s+)?letters?\b|\b(?:wrote|writing)\s+my\s+(?:own\s+)?obituary\b",
    r"\bplanning\s+how\s+i'?d\s+do\s+it\b",
    r"\bif\s+i(?:'?m\s+dead|\s+die)\b.{0,120}\btonight\b",
    r"\bwant\s+to\s+be\s+(?:with\s+(?:him|her|them)|in\s+that\s+place)\s+(?:too|again|now)\b",
    # Found missing in the third round's training texts.
    r"\b(?:everyone|everybody|evrybody|they|the\s+kids|my\s+kids|my\s+family)\s+(?:would|wud|'?d)\s+(?:be\s+)?"
    r"(?:better\s+off|happier)\b(?!\s+with\s+(?:me|us)\b|\s+if\s+we\b)",
    r"\b(?:drove|driving|stood|standing|sat|sitting|was|i'?m|im|crying)\s+(?:(?!traffic\b)\w+\s+){0,3}(?:on|at|to|from)\s+the\s+"
    r"(?:bridge|overpass)\b|\blook(?:ing|ed|in)?\s+at\s+the\s+bridge\b",
    r"\btook\s+(?:like\s+)?(?:a\s+bunch\s+of|many|a\s+few\s+extra|extra|everything\s+in\s+the\s+medicine)\b",
    r"\bhow\s+many\s+(?:of\s+)?(?:my\s+)?(?:\w+\s+)?pills\b|\b(?:the|my)\s+pills\s+right\s+here\b",
    r"\b(?:drive|driving|drove)\s+(?:it\s+|my\s+\w+\s+)?(?:off|into)\s+(?:a|the)\s+(?:river|lake|overpass|bridge)\b",
    r"\bgarage\b.{0,80}\b(?:with\s+it\s+running|engine\s+on)\b|\bturned\s+on\s+the\s+gas\s+and\s+(?:just\s+)?sat\b",
    r"\bi\s+have\s+(?:my|his|my\s+dad'?s|my\s+dads)\s+(?:old\s+)?(?:pistol|gun|rifle)\s+(?:here|with\s+me)\b",
    r"\b(?:just|about)\s+ending\s+(?:it|everything)\b|\bnot\s+waking\s+up\b|\b(?:afraid|scared)\s+of\s+myself\b",
    r"\b(?:can'?t|cant|cannot)\s+go\s+on\s+like\s+this\b|\bnothing\s+left\s+for\s+me\b",
    r"\btell\s+my\s+(?:girls|boys|babies|sisters|brothers|family|mom|mama)\s+i\s+love\b",
    r"\b(?:gave|give|giving)\s+(?:me|us|her|him)\s+(?:his|her|their)\s+(?:watch|ring|bank\s+card|jacket|things|stuff)\b"
    r"|\bgiving\s+my\s+tools\b",
    r"\bwon'?t\s+be\s+(?:a\s+problem|a\s+burden|around|here)\b.{0,20}\b(?:much\s+longer|anymore|any\s+more)\b",
    r"\b(?:won'?t|will\s+not|not\s+gonna)\s+be\s+a\s+burden\b|\bburden\s+no\s+more\b",
    r"\bdon'?t\s+(?:want|wanna)\s+(?:to\s+)?be\s+(?:a\s+)?(?:trouble|burden|problem)\s+(?:for|to|on)\s+"
    r"(?:anyone|anybody|nobody|everyone)\b",
    r"\bwhat'?s\s+(?:even\s+)?the\s+point\s+of\s+wak(?:ing|in)\s+up\b",
    r"\b(?:note|letter)\s+(?:that\s+)?(?:says?|saying)\s+['\"]?(?:sorry|goodbye|take\s+care|forgive)",
    r"\b(?:pic|photo|picture)\s+of\s+a\s+(?:rope|gun|noose)\b|\bgoodbye\s+type\b|\bsaid\s+(?:bye|goodbye)\s+to\s+my\b",
    r"\b(?:ain'?t|aint|not)\s+(?:gonna|going\s+to)\s+be\s+a?round\s+much\s+longer\b",
    r"\bdon'?t\s+want\s+to\s+be\s+anywhere\b|\bstop\s+existing\b|\bif\s+i\s+did\s*n'?t\s+wake\s+up\b",
    r"\bturned\s+on\s+the\s+gas\b.{0,40}\bsat\b|\bpays?\s+out\s+if\s+i\s+die\b|\bdriving\s+into\s+something\b",
    r"\brather\s+not\s+be\s+(?:around|here|alive)\b|\bgot\s+enough\s+so\s+i\s+(?:don'?t|dont|won'?t)\s+have\s+to\b",
    r"\btell\s+(?:them|mama|mom|my\s+\w+)\s+i\s+tried\b(?!\s+to\b)|\blast\s+(?:pic|photo|picture)\s+of\s+me\b",
    r"\bsee\s+(?:a\s+|any\s+|no\s+)?reason\s+to\s+keep\s+living\b|\bsorry\s+for\s+(?:all\s+)?the\s+trouble\b.{0,40}"
    r"\btake\s+care\s+of\b",
    r"\bpacked\s+and\s+label+ed\s+for\s+who\b|\bletter\s+for\s+you\s+is\s+(?:on\s+top|in\s+the)\b",
    r"\bwanted\s+(?:somebody|someone)\s+to\s+know\s+before\b",
    # Someone about to jump, in anyone's words ("saying hes gonna jump"), not jumping on a call or in a pool.
    r"\b(?:gonna|going\s+to|about\s+to|wants?\s+to|threaten(?:s|ing|ed)?\s+to)\s+jump\b"
    r"(?!\s+(?:on|in|into|at|through|ship|start|back|over|the\s+gun|for))",
    # Spanish.
    r"\btengo\s+en\s+la\s+mano\b|\bmas\s+pastillas\s+de\s+las\s+que\b|\bpensamientos\s+que\s+me\s+asustan\b",
    r"\bpronto\s+(?:se\s+va|me\s+voy)\s+a\s+reunir\s+con\b|\brepart\w+\s+(?:sus|mis)\s+cosas\b",
    r"\bya\s+no\s+(?:kiere|quiere)\s+(?:bibir|vivir)\b|\bque\s+le\s+diga\s+a\s+mi\s+\w+\s+que\s+(?:la|lo)\s+quiere\b",
    r"\bmejor\s+(?:me\s+)?desaparezc\w*|\b(?:mejor|prefiere|prefiero)\s+desaparecer\b|\bmejor\s+sin\s+(?:mi|ella|el)\b",
    r"\b(?:para|pa'?)\s+que\s+(?:estar|sigo|seguir)\s+aqui\b|\brazon\s+(?:para|pa'?)\s+estar\s+aqui\b",
    r"\bno\s+despertar(?:me)?\b|\bme\s+importa\s+si\s+despierto\b|\bdormir\s+(?:para|pa'?)\s+siempre\b",
    r"\b(?:me|se)\s+(?:quito|quita|va\s+a\s+quitar)\s+la\s+vida\b|\bquitar\s+la\s+vida\b",
    r"\b(?:todas\s+las|un\s+monton\s+de)\s+pastillas\b|\bfrasco\s+entero\b|\bpastillas\s+de\s+mas\b|\btengo\s+las\s+pastillas\b",
    r"\bcort\w+\s+las\s+munecas\b|\bhacerme\s+dano\b|\bser\s+una\s+carga\b",
    r"\bdespid\w+\s+de\s+(?:todos|todo|usted)\b|\bpara\s+despedirme\b|\bdespidiendose\b",
    r"\bcuando\s+(?:ella|el|yo)\s+no\s+este\b|\bprefier\w+\s+(?:estar\s+muert[oa]|morir\w*|no\s+despertar)\b",
    r"\bya\s+nada\s+tiene\s+sentido\b|\bno\s+tiene\s+sentido\s+seguir\b|\birme\s+(?:pa|para)\s+siempre\b",
    r"\bno\s+se\s+si\s+voy\s+a\s+estar\s+manana\b|\bya\s+no\s+tengo\s+fuerzas\b|\bme\s+quiero\s+ir\s+con\s+(?:el|ella)\b",
    r"\bme\s+quiero\s+ir\s+con\s+dios\b|\birme\s+con\s+dios\b|\bcuid(?:a|e|en)\s+a\s+mis\s+hijos\b",
    r"\bno\s+pienso\s+seguir\b|\bregale\s+mis\s+(?:cosas|muebles|ropa)\b",
    r"\bcansad[oa]\s+de\s+vivir\b|\bme\s+canse\s+de\s+vivir\b|\bno\s+me\s+quedan\s+fuerzas\b",
    r"\b(?:cuchillo|navaja|pistola|arma|pastillas)\s+en\s+la\s+mano\b",
    r"\bya\s+no\s+(?:puedo|aguanto)\s+mas\s+con\s+(?:la\s+vida|mi\s+vida|todo\s+esto)\b"
    r"|\bacabar\s+con\s+(?:todo|mi\s+vida)\b|\bquiero\s+desaparecer\b",
    r"\bno\s+merezco\s+(?:vivir|estar\s+aqui)\b|\bsoy\s+una\s+carga\b|\bya\s+no\s+voy\s+a\s+necesitar\b",
    r"\b(?:tirarme|aventarme|lanzarme)\s+(?:delante|enfrente|frente|al|a\s+las?|del|desde|de)\b"
    r"|\b(?:acantilados?|precipicio)\b.{0,40}\bno\s+frenar\b",
    r"\bdigale\s+a\s+mi\s+\w+\s+que\s+(?:lo|la|los|las)\s+quiero\b",
    r"\bno\s+vale\s+la\s+pena\s+(?:vivir|seguir)\b|\bcuando\s+ya\s+no\s+(?:este|estemos)\b|\badios\s+para\s+siempre\b",
    r"\bme\s+quiero\s+morir\b(?!\s+de\s+(?:la\s+)?(?:verguenza|risa|hambre|aburrimiento|sueno|pena))|\bquiero\s+morirme\b|\bquitarme\s+la\s+vida\b|\bse\s+(?:va\s+a\s+)?mata\b",
    r"\b(?:no|ya\s+no)\s+(?:quiero|quiere)\s+(?:vivir|seguir|estar\s+aqui)\b",
    r"\bprefiero\s+no\s+estar\s+aqui\b|\bmejor\s+(?:ya\s+)?no\s+despertar\b",
    r"\bno\s+(?:tiene|tengo)\s+para\s+que\s+vivir\b|\bno\s+le\s+veo\s+sentido\s+a\s+nada\b",
    r"\bmensaje\s+de\s+despedida\b|\bme\s+perdone\b.{0,80}\bno\s+voy\s+a\s+volver\b",
    r"\bno\s+voy\s+a\s+estar\s+para\s+la\s+audiencia\b|\bya\s+tome\s+la\s+decision\b",
    r"\b(?:tome|tomo|tomado)\s+(?:varias|muchas|todas\s+las)\s+pastillas\b|\bencerr\w+\b.{0,40}\bpastillas\b",
    r"\bpastillas\b.{0,40}\bescondidas\b|\bcortadas\s+en\s+los\s+brazos\b",
)
_CRISIS: Final = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))


def crisis(text: str) -> str | None:
    """The crisis phrase in `text` as found (case-folded, accent-free), or None."""
    found = _CRISIS.search(plain(text))
    return None if found is None else found.group(0)
