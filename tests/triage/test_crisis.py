"""Indirect self-harm and crisis language is found however it is put, in English and Spanish; the same
words used loosely are not."""

from __future__ import annotations

import pytest

from connector.triage.crisis import crisis


@pytest.mark.parametrize(
    "text",
    [
        "i wont be a problem for anyone after tonight",
        "wanted to say thanks for everything before I go",
        "the pills arent working fast enough",
        "I swallowed a bunch of my antidepressants like an hour ago",
        "sitting in the car in the garage with it running",
        "my sister texted me goodbye and isn't answering",
        "everyone would be better off if I wasn't in the picture. easier for everyone if I just left",
        "I don't see the point anymore.",
        "i jus wanna sleep n not wake up",
        "a veces pienso que mejor ya no despertar",
        "Mi esposo dice que si lo deportan se mata",
        "ya no quiero vivir, perdon lic",
        "I keep looking at the tracks",
        # Warning signs as crisis lines list them, phrased as no training text phrases them.
        "honestly I just want it all to be over for good",
        "there's nothing left to live for since the divorce",
        "when I'm gone make sure the house goes to my daughter",
        "please take care of my dog for me, you've been kind",
        "this is my last message, thank you for trying",
        "I've been putting my affairs in order this week",
        "ya no aguanto mas con la vida, perdon",
        "if I lose custody I'd rather just end it",
        "been writing goodbye notes to my kids",
        "thinking about taking the entire bottle tonight",
        "I keep thinking about driving into oncoming traffic",
        "honestly I can't find any reason to go on",
        "no vale la pena seguir, licenciada",
        # Phrasings the pipeline missed on the training texts (read there, written afresh here).
        "the pistol is out on the table and I keep looking at it",
        "when my kids read the letter I hope they understand",
        "I just want to hug my daughter one last time",
        "my brother has been giving away all his stuff this week",
        "forget about the appeal, doesn't matter now. thank you",
        "I'm so tired of living like this",
        "the pills are lined up on the nightstand",
        "not planning on being here for the trial anyway",
        "dont think ill be anywhere by then tbh",
        "ya me canse de vivir asi",
        "tengo la navaja en la mano",
        "no pienso seguir si me quitan a los niños",
        "my family would be better off with the insurance",
        "I was standing on the overpass for an hour tonight",
        "I looked up how many of my sleeping pills it takes",
        "he keeps saying he won't be a burden much longer",
        "she left a note saying sorry for everything",
        "los niños van a estar mejor sin mi",
        "compré algo para dormir para siempre",
        "mi hermano se despidió de todos por mensaje",
        "my brother is on the roof of his building saying hes gonna jump",
    ],
)
def test_indirect_crisis_language_is_found(text: str) -> None:
    assert crisis(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "this case is killing me lol",
        "I'm done with this landlord, seriously",
        "took my pills this morning like always, feeling fine",
        "I don't see the point of going to the status conference if nothing changed",
        "the bridge toll went up again",
        "I'm dying to hear what the judge said!",
        "me muero de ganas de que se acabe el caso",
        "when I'm back from vacation we can sign",
        "I need this case to end so I can move on",
        "can you take care of my filing for me while I'm away",
        "ya no aguanto a mi vecino, puedo hacer algo",
        "I want to die of embarrassment, I sent that to my ex",
        "me quiero morir de la verguenza jaja",
        "I'm tired of waiting for the adjuster",
        "the gun is in the safe like the order says",
        "when they read the verdict I'll be in the second row",
        "I'm sitting in traffic on the bridge, running late for court",
        "everyone would be better off if we just settled",
        "the kids would be better off with me, their school is here",
        "me tomo las pastillas de la presion cada mañana",
        "gonna jump on a call at 3, can you text me after",
        "the kids are going to jump in the pool all afternoon",
        "can we end it with a settlement instead of trial",
        "I'd rather drive to your office than do zoom",
    ],
)
def test_the_same_words_used_loosely_are_not(text: str) -> None:
    assert crisis(text) is None
