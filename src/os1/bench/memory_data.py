"""A synthetic evaluation set for the companion's long-term memory.

``build_eval_set`` writes months of everyday chat between a few made-up users and their
companions, plants facts in it, and asks questions whose evidence is known: the memory
ingests the messages (one database per person, see ``by_person``) and, given a question,
should return hits whose source message ids include the question's ``gold`` ids.

Question kinds:

* ``single``: one planted fact ("We adopted a beagle and named him Pickles." ->
  "What's my dog called?").
* ``multi_hop``: two messages are needed ("my sister Annie ..." and "Annie signed a lease
  in Lisbon" -> "Which city is my sister living in?"); gold is both.
* ``temporal``: the question names a day or a month relative to ``asked_at``
  ("yesterday", "last Tuesday", "on Thursday", "two weeks ago", "in May"); gold is the
  one message on that date, and messages on the same topic exist on other dates.
* ``updated``: a fact changed; gold is the latest statement, the older ones are listed
  in ``distractors`` and are not evidence.

Everything is made from small built-in lists shared by all people, so the same nouns
(sisters, cities, dishes, films) turn up in many places and plain keyword search is not
enough. Questions paraphrase the statements they ask about. Calendar dates are UTC dates
(each user is taken to live on UTC); every person's questions are asked on a Monday, so
"last Tuesday" and "on Tuesday" name the same day. The output depends only on the
arguments: person ``pNN`` is the same whatever ``people`` is.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

Kind = Literal["single", "multi_hop", "temporal", "updated"]
KINDS: tuple[Kind, ...] = ("single", "multi_hop", "temporal", "updated")

MIN_SESSIONS = 20


@dataclass(frozen=True)
class EvalMessage:
    id: str  # stable, e.g. "p03-s12-m004"
    conversation: str  # e.g. "p03-s12"
    time: datetime  # timezone-aware UTC
    speaker: str  # the user's name or the companion's name
    text: str


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    person: str  # the user's name (also the ``speaker`` of their messages)
    kind: Kind
    question: str
    asked_at: datetime  # after all sessions; temporal phrases are relative to this
    gold: tuple[str, ...]  # message ids that are the evidence
    answer: str = ""  # the expected answer, for reading results
    # Planted near misses: the superseded statements (updated), the same topic on other
    # dates (temporal), similar facts about someone else (single, multi_hop).
    distractors: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvalSet:
    messages: tuple[EvalMessage, ...]  # all people, chronological within each person
    questions: tuple[EvalQuestion, ...]


def build_eval_set(people: int = 5, sessions: int = 24, seed: int = 7) -> EvalSet:
    """``people`` users with ``sessions`` conversations each, and ~15 questions per user."""
    if not 1 <= people <= len(_USER_NAMES):
        raise ValueError(f"people must be between 1 and {len(_USER_NAMES)}")
    if sessions < MIN_SESSIONS:
        raise ValueError(f"sessions must be at least {MIN_SESSIONS}")
    users = list(_USER_NAMES)
    companions = list(_COMPANION_NAMES)
    names_rng = random.Random(f"os1-memory-eval:{seed}:names")
    names_rng.shuffle(users)
    names_rng.shuffle(companions)
    messages: list[EvalMessage] = []
    questions: list[EvalQuestion] = []
    for index in range(1, people + 1):
        builder = _Person(
            index=index,
            user=users[index - 1],
            companion=companions[(index - 1) % len(companions)],
            sessions=sessions,
            rng=random.Random(f"os1-memory-eval:{seed}:{index}"),
        )
        person_messages, person_questions = builder.build()
        messages.extend(person_messages)
        questions.extend(person_questions)
    return EvalSet(messages=tuple(messages), questions=tuple(questions))


def to_jsonl(messages: Iterable[EvalMessage]) -> str:
    """One JSON object per line: id, conversation, time (ISO 8601), speaker, text."""
    lines = [
        json.dumps(
            {
                "id": message.id,
                "conversation": message.conversation,
                "time": message.time.isoformat(),
                "speaker": message.speaker,
                "text": message.text,
            },
            ensure_ascii=False,
        )
        for message in messages
    ]
    return "".join(line + "\n" for line in lines)


def person_key(message_id: str) -> str:
    """The person part of a message id: ``"p03"`` for ``"p03-s12-m004"``."""
    return message_id.split("-", 1)[0]


def by_person(
    eval_set: EvalSet,
) -> dict[str, tuple[list[EvalMessage], list[EvalQuestion]]]:
    """Messages and questions of each user, keyed by the user's name.

    Each session starts with the user, so the speaker of a person's first message is
    their name; the other speaker is their companion.
    """
    names: dict[str, str] = {}
    grouped: dict[str, tuple[list[EvalMessage], list[EvalQuestion]]] = {}
    for message in eval_set.messages:
        key = person_key(message.id)
        if key not in names:
            names[key] = message.speaker
            grouped[message.speaker] = ([], [])
        grouped[names[key]][0].append(message)
    for question in eval_set.questions:
        grouped.setdefault(question.person, ([], []))[1].append(question)
    return grouped


# --------------------------------------------------------------------------------------
# Built-in lists, shared by everyone.

_USER_NAMES = (
    "Maya", "Jonas", "Priya", "Tomás", "Hana", "Oliver", "Leila", "Ben",
    "Sofia", "Kenji", "Amara", "Lukas", "Noor", "Daniel", "Elena", "Marcus",
)  # fmt: skip
_COMPANION_NAMES = (
    "Samantha", "Iris", "Theo", "Juno", "Wren", "Milo", "Nova", "Sage", "Ellis", "Robin",
)  # fmt: skip
_FEMALE_NAMES = (
    "Annie", "Greta", "Lila", "Fatima", "Chloe", "Ingrid", "Rosa", "Yuki", "Zoe", "Nadia",
    "Clara", "Mei", "Lucia", "Aisha", "Beatriz",
)  # fmt: skip
_MALE_NAMES = (
    "Carlos", "Sam", "Marco", "Ravi", "Felix", "Omar", "Tobias", "Hugo", "Pedro", "Ivan",
    "Jack", "Finn", "Gus",
)  # fmt: skip
_OTHER_NAMES = _FEMALE_NAMES + _MALE_NAMES
_CITIES = (
    "Lisbon", "Seattle", "Los Angeles", "Berlin", "Toronto", "Osaka", "Melbourne",
    "Porto", "Denver", "Dublin", "Austin", "Madrid", "Oslo", "Chicago", "Vancouver",
    "Edinburgh", "Prague", "Boston",
)  # fmt: skip
_DISHES = (
    "lentil soup", "mushroom risotto", "chicken curry", "shakshuka", "lasagne",
    "pad thai", "banana bread", "fish tacos", "ramen", "paella", "gnocchi", "chili",
    "dumplings", "moussaka", "vegetable stir-fry", "pumpkin pie",
)  # fmt: skip
_FILMS = (
    "Past Lives", "Arrival", "Paddington 2", "The Matrix", "Spirited Away", "Jaws",
    "Amélie", "Heat", "Moonlight", "Inception", "Little Women", "Parasite", "Up",
)  # fmt: skip
_RESTAURANTS = (
    "Luigi's", "the Blue Lotus", "Casa Verde", "Sakura House", "the Crooked Spoon",
    "Taverna Olia", "Little Saigon", "the Copper Pot", "El Farolito", "Bombay Street",
)  # fmt: skip
_ITEMS = (
    "a rain jacket", "a standing desk", "noise-cancelling headphones", "a cast-iron pan",
    "a bike helmet", "running shoes", "a record player", "a monstera plant",
    "a wool coat", "an espresso machine", "a weighted blanket", "a camping stove",
)  # fmt: skip
_TRAILS = (
    "the Cedar Ridge trail", "Eagle Peak", "the coastal path", "Lion's Head",
    "the Bear Creek loop", "Mount Ember", "the old quarry trail", "Fox Hill",
)  # fmt: skip
_BOOKS = (
    "The Remains of the Day", "Middlemarch", "Piranesi", "Station Eleven", "The Hobbit",
    "Beloved", "Dune", "Persuasion", "A Gentleman in Moscow", "Never Let Me Go",
    "Rebecca", "The Overstory",
)  # fmt: skip
_BANDS = (
    "Radiohead", "ABBA", "Fleetwood Mac", "Arctic Monkeys", "Beyoncé", "Bon Iver",
    "Daft Punk", "Queen", "Nina Simone", "The Beatles",
)  # fmt: skip
_DOG_BREEDS = ("beagle", "labrador", "corgi", "dachshund", "border collie", "greyhound")
_CAT_BREEDS = ("tabby", "Siamese", "Maine Coon", "Russian Blue", "ginger moggy")
_PET_NAMES = (
    "Pickles", "Biscuit", "Mochi", "Pepper", "Waffles", "Luna", "Ziggy", "Noodle",
    "Olive", "Bean", "Pretzel", "Juniper",
)  # fmt: skip
_JOBS = (
    "a pharmacist", "a chemistry teacher", "a UX designer", "an electrician",
    "a physiotherapist", "a data analyst", "a sous-chef", "an architect", "a paramedic",
    "a librarian", "a dental hygienist", "a tax accountant",
)  # fmt: skip
_ALLERGENS = ("peanuts", "shellfish", "sesame", "kiwi", "hazelnuts", "strawberries")
_CARS = (
    "Honda Civic", "Toyota Corolla", "Volkswagen Golf", "Subaru Outback", "Mazda 3",
    "Ford Fiesta", "Kia Soul", "Volvo V60",
)  # fmt: skip
_COLOURS = ("red", "silver", "dark blue", "white", "forest green", "black")
_INSTRUMENTS = ("cello", "ukulele", "piano", "drums", "violin", "saxophone", "banjo")
_FEARS = ("heights", "spiders", "deep water", "flying", "snakes", "thunderstorms")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HOBBIES = (
    ("bouldering at the climbing gym", "bouldering"),
    ("sailing on the lake", "sailing"),
    ("restoring an old motorbike", "restoring motorbikes"),
    ("feeding a sourdough starter and baking loaves", "baking sourdough"),
    ("out at dawn with binoculars spotting herons", "birdwatching"),
    ("playing chess in the park against strangers", "chess"),
    ("throwing pots at a ceramics studio", "pottery"),
)
_COMPANIES = (
    "Northwind", "Halcyon", "Brightside", "Meridian", "Bluebird", "Tidewater",
    "Juniper Studio", "Orbital", "Greenleaf", "Harbor & Co",
)  # fmt: skip
_EXERCISES = ("running", "swimming", "yoga", "cycling", "pilates", "rowing", "boxing")
_COMMUTES = (
    ("bus", "take the bus"),
    ("train", "take the train"),
    ("bike", "cycle"),
    ("car", "drive"),
    ("tram", "ride the tram"),
)
_PHONES = ("Pixel 8", "iPhone 13", "Galaxy S23", "Fairphone 5", "iPhone 15", "Moto G")

# Everyday chatter: (topic, template). Slots are filled from the lists above; the
# topic lets the generator keep e.g. cooking chatter away from a dated cooking event.
_FILLER: tuple[tuple[str, str], ...] = (
    ("work", "Three meetings back to back, my brain is mush."),
    ("work", "The deadline got moved up again, classic."),
    ("work", "My boss wants the report by Friday and I haven't started."),
    ("work", "Finally cleared my inbox. Small victories."),
    ("work", "Someone microwaved fish in the office kitchen again."),
    ("work", "Presentation went better than I expected today."),
    ("work", "I'm so tired of video calls where nobody turns their camera on."),
    ("work", "Had a long chat with a new colleague who just moved here from {city}."),
    ("cooking", "Tried a new recipe for {dish}, it was fine but not amazing."),
    ("cooking", "Had leftover {dish} for lunch, somehow better on day two."),
    ("cooking", "I burnt the rice while making {dish}. Again."),
    ("cooking", "Thinking about cooking {dish} this weekend if I have the energy."),
    ("eating_out", "{friend} wants to try {restaurant} some time, heard good things?"),
    ("eating_out", "Walked past {restaurant} and the queue was around the block."),
    ("film", "Someone at work wouldn't stop talking about {film}."),
    ("film", "I keep meaning to watch {film} but I always fall asleep."),
    ("shopping", "My old {item_bare} is falling apart, I might need a new one."),
    ("shopping", "Spent way too long comparing prices online tonight."),
    ("coffee", "{friend} cancelled our coffee plans, a bit gutted."),
    ("coffee", "The café on the corner changed its beans and I'm not a fan."),
    ("hiking", "{friend} keeps inviting me to hike {trail}, maybe when it's cooler."),
    ("hiking", "Saw photos of {trail} online, it looks stunning."),
    ("weather", "It's pouring outside and of course I forgot my umbrella."),
    ("weather", "Finally some sunshine, I had lunch outside."),
    ("weather", "So windy today, my hair is a disaster."),
    ("weather", "{friend} says it's snowing in {city}, lucky them."),
    ("weather", "It's so humid I can't think straight."),
    ("sleep", "Slept nine hours and I still feel like a zombie."),
    ("sleep", "Couldn't sleep, was scrolling until two."),
    ("sleep", "Had the strangest dream about being late for an exam."),
    ("feelings", "Feeling a bit low today, not sure why."),
    ("feelings", "Weirdly happy today, everything just clicked."),
    ("feelings", "I'm anxious about next week, too much going on."),
    ("feelings", "Proud of myself, I finally said no to something."),
    ("feelings", "A bit lonely tonight, honestly."),
    ("family", "My sister keeps sending me memes at 6am."),
    ("family", "Mum called to ask about the holidays already."),
    ("family", "My brother forgot my text again, typical."),
    ("family", "Dad wants help setting up his new tablet, pray for me."),
    ("family", "My cousin is getting married in {city} next year."),
    ("friends", "{friend} just got back from {city} and won't stop talking about it."),
    ("friends", "Game night at {friend}'s place, I lost every round."),
    ("friends", "{friend} and I are planning a trip to {city} maybe."),
    ("friends", "Group chat is on fire about {friend}'s new haircut."),
    ("friends", "It's {friend}'s birthday next week, I have zero gift ideas."),
    ("family", "Mum's birthday dinner was chaos, in the best way."),
    ("pets", "Saw the cutest puppy at the park today."),
    ("pets", "A cat sat on my windowsill for an hour, just staring at me."),
    ("books", "Started a new book, too early to tell if I like it."),
    ("books", "{friend} lent me {book} but I haven't opened it yet."),
    ("music", "Had {band} on in the background all afternoon."),
    ("music", "Made a new playlist for the weekend."),
    ("hobby", "I want a new hobby, something with my hands maybe."),
    ("hobby", "Spent the evening doing a jigsaw puzzle, very relaxing."),
    ("hobby", "Signed up for a pottery taster class, nervous."),
    ("health", "Got my flu shot, my arm is sore."),
    ("health", "My back hurts from sitting all day."),
    ("health", "Drank actual water today, two litres, I'm a new person."),
    ("home", "Cleaned the whole flat, it feels amazing."),
    ("home", "The neighbours are drilling again, first thing in the morning."),
    ("home", "Our washing machine is making a terrifying noise."),
    ("home", "Rearranged the furniture, the living room feels bigger."),
    ("home", "One of my plants is dying and I don't know why."),
    ("travel", "I need a holiday, somewhere warm, maybe {city}."),
    ("travel", "Flights to {city} are so expensive right now."),
    ("news", "Read too much news today, it's all a bit much."),
    ("tv", "Binged half a season of a baking show, no regrets."),
    ("money", "Did my budget for the month, could be worse."),
    ("errands", "Spent my whole lunch break at the post office."),
    ("work", "Our team lunch got cancelled, again."),
    ("work", "Fixed a bug that's been haunting me for weeks."),
    ("work", "Performance reviews are coming up, dreading it."),
    ("weather", "First frost this morning, everything sparkled."),
    ("feelings", "Kind of overwhelmed, too many small things."),
    ("feelings", "Had a good cry, I feel lighter now."),
    ("feelings", "Today was just... fine. Nothing special."),
    ("friends", "{friend} sent me a voice note that was eleven minutes long."),
    ("friends", "Helped {friend} carry a sofa up four floors, my arms are dead."),
    ("family", "Grandma turned ninety, the whole family was on a video call."),
    ("hobby", "Finished a thousand-piece puzzle, it felt like a marathon."),
    ("hobby", "Trying to learn to knit from videos, it's a mess."),
    ("tv", "Started a true crime podcast, now I'm scared of everything."),
    ("money", "Got an unexpected refund, small win."),
    ("health", "Dentist tomorrow, wish me luck."),
    ("sleep", "Napped for three hours, my body clock is ruined."),
    ("pets", "{friend}'s cat ignored me for the entire evening."),
    ("food", "The bakery downstairs gave me a free croissant!"),
    ("travel", "{friend} sent a postcard from {city}, very old school."),
    ("music", "Couldn't get one song out of my head all day."),
)

_REPLIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # topic: (plain replies, replies echoing a noun {x})
    "work": (
        ("That sounds like a lot. How are you holding up?", "Work can be relentless."),
        ("{x}? Tell me more.",),
    ),
    "cooking": (
        ("Mm, that sounds delicious.", "Cooking is such a good way to unwind."),
        ("{x} sounds lovely!", "I love {x}. How did it turn out?"),
    ),
    "eating_out": (
        ("Food is one of life's great joys.", "Ooh, tell me more."),
        ("{x}? I've heard of it.", "Was {x} worth it?"),
    ),
    "film": (
        ("Films can really stay with you.", "What did you think of the ending?"),
        ("{x} is a good one.", "Did {x} live up to the hype?"),
    ),
    "shopping": (
        ("Treat yourself sometimes.", "Was it a good deal?"),
        ("Ooh, {x}. Nice choice.",),
    ),
    "coffee": (
        ("A good coffee catch-up is the best.", "How are they doing?"),
        ("How is {x} doing?", "Say hi to {x} from me."),
    ),
    "hiking": (
        ("Fresh air does wonders.", "How were the views?"),
        ("{x} sounds beautiful.",),
    ),
    "weather": (
        ("Weather really sets the mood, doesn't it?", "Ha, the sky has a mind of its own."),
        (),
    ),
    "sleep": (("Sleep is so important. Be kind to yourself.", "Maybe an early night?"), ()),
    "feelings": (
        ("I'm here if you want to talk about it.", "Thank you for telling me."),
        (),
    ),
    "family": (
        ("Family, right?", "That's sweet, in its own way."),
        ("How is {x} doing?", "{x} sounds like a character."),
    ),
    "friends": (
        ("Sounds fun!", "Good friends are everything."),
        ("{x} sounds like a good friend.", "How is {x}?"),
    ),
    "pets": (
        ("Animals make everything better.", "Aww."),
        ("{x} sounds adorable.", "Give {x} a scratch from me."),
    ),
    "books": (
        ("I love that you read so much.", "Any favourite lines?"),
        ("{x} is on my list.",),
    ),
    "music": (("Music helps with everything.", "Good taste."), ("{x}? Great choice.",)),
    "hobby": (
        ("Making things is such a good way to switch off.", "I love that you try new things."),
        (),
    ),
    "health": (("Take care of yourself.", "I hope you feel better soon."), ()),
    "home": (("Home stuff never ends.", "A tidy space helps the mind."), ()),
    "travel": (("Where would you go first?", "A trip sounds good."), ("{x} would be lovely.",)),
    "car": (("Nice, congratulations!", "Drive safe."), ("A {x}! Nice.",)),
    "birthday": (("I'll remember.", "Any plans to celebrate?"), ()),
    "fear": (("That's a very common one.", "That sounds scary."), ()),
    "allergy": (("That must make eating out tricky.", "Good to know, I'll remember."), ()),
    "dating": (("I'm happy for you.", "How are you feeling about it?"), ("{x} sounds nice.",)),
    "phone": (("Technology, huh.", "Hope it serves you well."), ("The {x}? Nice.",)),
    "commute": (("Commutes can make or break a day.", "That sounds much better."), ()),
    "exercise": (("Good for you!", "Moving your body helps so much."), ()),
    "signoff": (("Talk soon!", "Take care!", "Speak soon, take care."), ()),
    "food": (("Free pastry is the best kind of pastry.", "Yum."), ()),
}
_GENERIC_REPLIES = (
    "Tell me more?",
    "How did that make you feel?",
    "That makes sense.",
    "Oh, really?",
    "I hear you.",
    "Fair enough!",
    "Ha, I love that.",
    "That's interesting.",
)
_GREETINGS = ("Hey {c}! ", "Hi {c}. ", "Hello again. ", "Hey you. ", "")
_SIGNOFFS = (
    "Ok, I should go. Talk later!",
    "Anyway, enough about me.",
    "Right, back to it. Bye for now.",
    "Thanks for listening.",
)
# Which filler slot a companion reply may echo, by topic.
_ECHO_SLOT = {
    "work": "city",
    "cooking": "dish",
    "eating_out": "restaurant",
    "film": "film",
    "hiking": "trail",
    "coffee": "friend",
    "friends": "friend",
    "books": "book",
    "music": "band",
    "travel": "city",
}

# Temporal topics: (topic, dated statement, other-date statement, question, value list).
_TEMPORAL: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (
        "cooking",
        "Spent the evening making {v} from scratch, the whole flat smells amazing.",
        "Made {v} today, turned out a bit salty.",
        "What did I cook {when}?",
        _DISHES,
    ),
    (
        "film",
        "Just watched {v}, I need a minute to recover.",
        "Rewatched {v} today with popcorn, still holds up.",
        "Which movie did I see {when}?",
        _FILMS,
    ),
    (
        "eating_out",
        "Ate at {v} today, the dessert was unreal.",
        "Had dinner at {v} today, service was slow but the food was good.",
        "Which restaurant did I go to {when}?",
        _RESTAURANTS,
    ),
    (
        "shopping",
        "Splurged on {v} today, no regrets.",
        "Ordered {v} today, hope it arrives soon.",
        "What did I buy {when}?",
        _ITEMS,
    ),
    (
        "hiking",
        "Did {v} this afternoon, my legs are jelly.",
        "Walked {v} today, muddy but worth it.",
        "Where did I go hiking {when}?",
        _TRAILS,
    ),
    (
        "coffee",
        "Met {v} at the café this afternoon, we talked for ages.",
        "Grabbed a flat white with {v} today.",
        "Who did I have coffee with {when}?",
        (),  # names come from the person's own pool
    ),
)
_PHRASES = ("yesterday", "last_weekday", "on_weekday", "two_weeks_ago", "in_month")


# --------------------------------------------------------------------------------------
# Generation.


@dataclass
class _Line:
    """A planned user message."""

    text: str
    topic: str
    echo: str | None = None
    key: str | None = None  # to look up its message id afterwards
    evening: bool = False  # says "today"/"this afternoon": the session is in the evening


@dataclass
class _Plan:
    kind: Kind
    question: str
    answer: str
    gold: list[str]
    distractors: list[str] = field(default_factory=list)


class _Person:
    def __init__(
        self, index: int, user: str, companion: str, sessions: int, rng: random.Random
    ) -> None:
        self.index = index
        self.user = user
        self.companion = companion
        self.rng = rng
        self.n = sessions
        self.prefix = f"p{index:02d}"
        # People the user knows and cities in their life: each used for one thing only.
        self.names = [n for n in _OTHER_NAMES if n not in (user, companion)]
        rng.shuffle(self.names)
        self.friends = [self.names.pop() for _ in range(4)]  # for chatter only
        self.cities = list(_CITIES)
        rng.shuffle(self.cities)
        self.planted: list[list[_Line]] = [[] for _ in range(sessions)]
        self.blocked: list[set[str]] = [set() for _ in range(sessions)]  # filler topics
        self.plans: list[_Plan] = []
        self.keys = 0
        self._schedule()

    # ---- calendar

    def _schedule(self) -> None:
        rng = self.rng
        # The questions are asked on a Monday: "last Tuesday" and "on Tuesday" agree.
        self.asked_date = date(2024, 9, 2) + timedelta(weeks=rng.randint(0, 30))
        self.phrases = rng.sample(_PHRASES, 3)
        offsets = {rng.randint(1, 4)}  # the latest session
        self.anchor: dict[str, int] = {}
        days = rng.sample(range(2, 7), 2)
        for phrase in self.phrases:
            if phrase == "yesterday":
                self.anchor[phrase] = 1
            elif phrase == "two_weeks_ago":
                self.anchor[phrase] = 14
            elif phrase in ("last_weekday", "on_weekday"):
                self.anchor[phrase] = days.pop()
        offsets.update(self.anchor.values())
        offset = max(offsets)
        while len(offsets) < self.n:
            offset += rng.randint(2, 14)
            offsets.add(offset)
        self.offsets = sorted(offsets, reverse=True)  # session order: oldest first
        self.dates = [self.asked_date - timedelta(days=o) for o in self.offsets]
        self.load = [0] * self.n

    def _session_at(self, offset: int) -> int:
        return self.offsets.index(offset)

    # ---- placing lines

    def _key(self) -> str:
        self.keys += 1
        return f"k{self.keys}"

    def _put(self, session: int, line: _Line) -> str:
        key = self._key()
        line.key = key
        self.planted[session].append(line)
        self.load[session] += 1
        return key

    def _pick(self, candidates: Iterable[int]) -> int:
        pool = list(candidates)
        light = [s for s in pool if self.load[s] < 4]
        return self.rng.choice(light or pool)

    def _place(self, line: _Line, candidates: Iterable[int] | None = None) -> str:
        return self._put(self._pick(range(self.n) if candidates is None else candidates), line)

    def _other_name(self, names: tuple[str, ...] = _OTHER_NAMES) -> str:
        name = next(n for n in reversed(self.names) if n in names)
        self.names.remove(name)
        return name

    def _city(self) -> str:
        return self.cities.pop()

    # ---- facts

    def _single(self) -> None:
        makers = [
            self._pet,
            self._job,
            self._book,
            self._allergy,
            self._car,
            self._birthday,
            self._band,
            self._instrument,
            self._hometown,
            self._fear,
        ]
        for make in self.rng.sample(makers, 6):
            statement, topic, echo, question, answer, distractor = make()
            gold = self._place(_Line(statement, topic, echo))
            near = self._place(_Line(distractor, topic))
            self.plans.append(_Plan("single", question, answer, [gold], [near]))

    def _pet(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        species = rng.choice(("dog", "cat"))
        breed = rng.choice(_DOG_BREEDS if species == "dog" else _CAT_BREEDS)
        name, other = rng.sample(_PET_NAMES, 2)
        statement = rng.choice(
            (
                f"We adopted a {breed} and named the little rascal {name}.",
                f"Six months since {name} the {breed} came home with us, best decision ever.",
            )
        )
        question = rng.choice((f"What's my {species} called?", f"What is my {species}'s name?"))
        distractor = f"The neighbours' {species} {other} got into our garden again."
        return statement, "pets", name, question, name, distractor

    def _job(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        job, other = rng.sample(_JOBS, 2)
        statement = rng.choice(
            (
                f"Eight years as {job} and I still get nervous on Monday mornings.",
                f"People at parties always have questions when they hear I'm {job}.",
            )
        )
        question = rng.choice(("What do I do for a living?", "What's my profession?"))
        distractor = f"{rng.choice(self.friends)} is thinking about retraining as {other}."
        return statement, "work", None, question, job.split(" ", 1)[1], distractor

    def _book(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        book, other = rng.sample(_BOOKS, 2)
        statement = rng.choice(
            (
                f"Reread {book} for the fifth time, nothing else comes close.",
                f"If I could only keep one thing on my shelf it would be {book}.",
            )
        )
        question = rng.choice(("What's my favourite novel?", "Which book do I love most?"))
        distractor = f"{rng.choice(self.friends)} keeps telling me {other} is the best novel ever."
        return statement, "books", book, question, book, distractor

    def _allergy(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        allergen, other = rng.sample(_ALLERGENS, 2)
        statement = rng.choice(
            (
                f"One bite of anything with {allergen} and I break out in hives.",
                f"Can't even share a kitchen with {allergen}, my throat closes up.",
            )
        )
        question = rng.choice(("What am I allergic to?", "Which food gives me a reaction?"))
        distractor = (
            f"{rng.choice(self.friends)} is allergic to {other}, so I'm planning the menu "
            "around that."
        )
        return statement, "allergy", None, question, allergen, distractor

    def _car(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        car, other = rng.sample(_CARS, 2)
        colour = rng.choice(_COLOURS)
        statement = rng.choice(
            (
                f"The {colour} {car} needs new tyres already, I've barely had it a year.",
                f"Washed the {colour} {car} this morning, it's gleaming.",
            )
        )
        question = rng.choice(("What car do I drive?", "Which car do I own?"))
        distractor = f"{rng.choice(self.friends)} just bought a {other}, very jealous."
        return statement, "car", car, question, f"{colour} {car}", distractor

    def _birthday(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        month, other_month = rng.sample(_MONTHS, 2)
        day, other_day = rng.randint(1, 28), rng.randint(1, 28)
        age = rng.randint(26, 48)
        statement = rng.choice(
            (
                f"Turning {age} on {month} {day}, please remind me to book a table.",
                f"Can't believe I'll be {age} on {month} {day}, where did the time go.",
            )
        )
        question = rng.choice(("When is my birthday?", "What date was I born on?"))
        distractor = (
            f"{rng.choice(self.friends)}'s birthday is {other_month} {other_day}, "
            "I still need a present."
        )
        return statement, "birthday", None, question, f"{month} {day}", distractor

    def _band(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        band, other = rng.sample(_BANDS, 2)
        statement = f"Saw {band} live when I was sixteen and nobody has topped them since."
        question = rng.choice(
            ("Who is my all-time favourite artist?", "What music do I love most?")
        )
        distractor = f"{rng.choice(self.friends)} dragged me to a {other} tribute night."
        return statement, "music", band, question, band, distractor

    def _instrument(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        instrument, other = rng.sample(_INSTRUMENTS, 2)
        statement = rng.choice(
            (
                f"My {instrument} teacher says my scales are finally getting cleaner.",
                f"Practised {instrument} for an hour, my fingers are sore.",
            )
        )
        question = rng.choice(("What instrument am I learning?", "What am I learning to play?"))
        distractor = f"The kid next door practises {other} every evening, loudly."
        return statement, "hobby", None, question, instrument, distractor

    def _hometown(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        city, other = self._city(), self._city()
        statement = f"Mum sent photos of {city}, I miss the streets where I grew up."
        question = rng.choice(("Where am I originally from?", "Which town is my childhood home?"))
        distractor = f"{rng.choice(self.friends)} grew up in {other}, small world."
        return statement, "family", None, question, city, distractor

    def _fear(self) -> tuple[str, str, str | None, str, str, str]:
        rng = self.rng
        fear, other = rng.sample(_FEARS, 2)
        statement = f"My palms sweat just thinking about {fear}, always been like that."
        question = rng.choice(("What am I afraid of?", "What's my phobia?"))
        distractor = f"{rng.choice(self.friends)} is terrified of {other}, poor thing."
        return statement, "fear", None, question, fear, distractor

    def _multi_hop(self) -> None:
        chains = [
            self._relative_city,
            self._boss_hobby,
            self._friend_child,
            self._neighbour_job,
            self._brother_pet,
            self._mentor_book,
        ]
        for make in self.rng.sample(chains, 3):
            first, second, question, answer, distractor = make()
            i = self.rng.randrange(0, self.n - 1)
            a = self._place(first, [i])
            b = self._place(second, range(i + 1, self.n))
            near = self._place(distractor)
            self.plans.append(_Plan("multi_hop", question, answer, [a, b], [near]))

    def _relative_city(self) -> tuple[_Line, _Line, str, str, _Line]:
        rng = self.rng
        relative = rng.choice(("sister", "cousin", "aunt", "best friend"))
        name = self._other_name(_FEMALE_NAMES if relative in ("sister", "aunt") else _OTHER_NAMES)
        city, other = self._city(), self._city()
        first = _Line(f"Long call with my {relative} {name}, we laughed a lot.", "family")
        second = _Line(
            f"{name} just signed a lease on a flat in {city} and loves the neighbourhood.",
            "friends",
        )
        question = f"Which city is my {relative} living in?"
        distractor = _Line(f"My colleague's {relative} lives in {other}, apparently.", "family")
        return first, second, question, city, distractor

    def _boss_hobby(self) -> tuple[_Line, _Line, str, str, _Line]:
        rng = self.rng
        role = rng.choice(("manager", "boss", "team lead"))
        name = self._other_name()
        (activity, hobby), (_, other) = rng.sample(_HOBBIES, 2)
        first = _Line(
            f"Had my one-to-one with {name} — still getting used to having a new {role}.",
            "work",
        )
        second = _Line(f"{name} spent the whole weekend {activity} again.", "work")
        question = f"What is my {role} into outside of work?"
        distractor = _Line(f"My old {role} used to be obsessed with {other}.", "work")
        return first, second, question, hobby, distractor

    def _friend_child(self) -> tuple[_Line, _Line, str, str, _Line]:
        rng = self.rng
        name, kid = self._other_name(), self._other_name()
        other_kid = self._other_name(_MALE_NAMES)
        first = _Line(f"My oldest friend {name} is coming over for dinner on Friday.", "friends")
        second = _Line(
            f"{name}'s little one {kid} just started school, can you believe it.", "friends"
        )
        question = rng.choice(
            (
                "What's the name of my oldest friend's child?",
                "What is my oldest friend's kid called?",
            )
        )
        distractor = _Line(
            f"My friend from yoga brought her son {other_kid} along today.", "friends"
        )
        return first, second, question, kid, distractor

    def _neighbour_job(self) -> tuple[_Line, _Line, str, str, _Line]:
        rng = self.rng
        name = self._other_name()
        job, other = rng.sample(_JOBS, 2)
        first = _Line(f"Our new neighbour {name} brought round a tray of cookies.", "home")
        second = _Line(f"{name} is {job}, always on odd shifts.", "friends")
        question = "What's my neighbour's profession?"
        distractor = _Line(f"The neighbour across the street used to be {other}.", "home")
        return first, second, question, job.split(" ", 1)[1], distractor

    def _brother_pet(self) -> tuple[_Line, _Line, str, str, _Line]:
        rng = self.rng
        name = self._other_name(_MALE_NAMES)
        breed = rng.choice(_DOG_BREEDS)
        pet, other = rng.sample(_PET_NAMES, 2)
        first = _Line(f"My brother {name} is visiting next month, need to clean.", "family")
        second = _Line(f"{name}'s {breed} {pet} chewed through a sofa cushion.", "pets", pet)
        question = "What's my brother's dog called?"
        distractor = _Line(f"My brother's neighbour has a dog called {other}.", "pets")
        return first, second, question, pet, distractor

    def _mentor_book(self) -> tuple[_Line, _Line, str, str, _Line]:
        rng = self.rng
        name = self._other_name()
        book, other = rng.sample(_BOOKS, 2)
        first = _Line(f"Lunch with {name}, my old mentor from university.", "friends")
        second = _Line(f"{name} swears I have to read {book} before the year is out.", "books")
        question = "Which book did my mentor recommend?"
        distractor = _Line(f"A colleague recommended {other}, but it's huge.", "books")
        return first, second, question, book, distractor

    def _temporal(self) -> None:
        rng = self.rng
        for phrase, spec in zip(self.phrases, rng.sample(_TEMPORAL, 3), strict=True):
            topic, dated, other_date, question, values = spec
            if values:
                value, *others = rng.sample(values, 4)
            else:
                value, *others = (self._other_name() for _ in range(4))
            if phrase == "in_month":
                candidates = [
                    s
                    for s, (offset, day) in enumerate(zip(self.offsets, self.dates, strict=True))
                    if 35 <= offset <= 300 and _month(day) != _month(self.asked_date)
                ]
                gold_session = self._pick(candidates)
                gold_day = self.dates[gold_session]
                when = f"in {_MONTHS[gold_day.month - 1]}"
                near = [s for s in range(self.n) if _month(self.dates[s]) == _month(gold_day)]
            else:
                gold_session = self._session_at(self.anchor[phrase])
                gold_day = self.dates[gold_session]
                when = {
                    "yesterday": "yesterday",
                    "two_weeks_ago": "two weeks ago",
                    "last_weekday": f"last {_WEEKDAYS[gold_day.weekday()]}",
                    "on_weekday": f"on {_WEEKDAYS[gold_day.weekday()]}",
                }[phrase]
                near = [s for s in range(self.n) if abs((self.dates[s] - gold_day).days) <= 7]
            for s in near:
                self.blocked[s].add(topic)
            gold = self._put(gold_session, _Line(dated.format(v=value), topic, value, evening=True))
            far = [s for s in range(self.n) if s not in near]
            sessions = rng.sample(far, min(len(far), rng.randint(2, 3)))
            distractors = [
                self._put(s, _Line(other_date.format(v=v), topic, v, evening=True))
                for s, v in zip(sessions, others, strict=False)
            ]
            self.plans.append(
                _Plan("temporal", question.format(when=when), value, [gold], distractors)
            )

    def _updated(self) -> None:
        rng = self.rng
        makers = [
            self._moved,
            self._new_employer,
            self._new_partner,
            self._new_exercise,
            self._new_commute,
            self._new_phone,
        ]
        for make in rng.sample(makers, 3):
            old, again, new, question, answer = make()
            i = rng.randrange(0, self.n - 2)
            j = self._pick(range(i + 2, self.n))
            stale = [self._put(i, old)]
            if rng.random() < 0.5:
                stale.append(self._put(rng.randrange(i + 1, j), again))
            gold = self._put(j, new)
            self.plans.append(_Plan("updated", question, answer, [gold], stale))

    def _moved(self) -> tuple[_Line, _Line, _Line, str, str]:
        rng = self.rng
        old, new = self._city(), self._city()
        return (
            _Line(f"Our flat in {old} is tiny, but I love the neighbourhood.", "home", old),
            _Line(f"Walked along the river here in {old} after work, so pretty.", "home"),
            _Line(
                f"Finally unpacked the last boxes here in {new}, the move was worth it.",
                "home",
                new,
            ),
            rng.choice(("Which city am I living in now?", "Where's home for me these days?")),
            new,
        )

    def _new_employer(self) -> tuple[_Line, _Line, _Line, str, str]:
        rng = self.rng
        old, new = rng.sample(_COMPANIES, 2)
        return (
            _Line(f"Long day at {old}, the open-plan office is so loud.", "work", old),
            _Line(f"Layoff rumours at {old} again, everyone is tense.", "work"),
            _Line(f"First week at {new} done, so glad I switched from {old}.", "work", new),
            rng.choice(("Which company do I work for now?", "Who is my current employer?")),
            new,
        )

    def _new_partner(self) -> tuple[_Line, _Line, _Line, str, str]:
        rng = self.rng
        old, new = self._other_name(), self._other_name()
        return (
            _Line(f"{old} and I have been together almost a year now.", "dating", old),
            _Line(f"{old} surprised me with breakfast in bed, so sweet.", "dating", old),
            _Line(
                f"Things ended with {old} a while ago; I've been seeing {new} and it feels easy.",
                "dating",
                new,
            ),
            rng.choice(("Who am I dating at the moment?", "Who's my partner these days?")),
            new,
        )

    def _new_exercise(self) -> tuple[_Line, _Line, _Line, str, str]:
        rng = self.rng
        old, new = rng.sample(_EXERCISES, 2)
        return (
            _Line(f"Did my usual {old} before breakfast, nice way to start the day.", "exercise"),
            _Line(f"Managed my {old} session even though I was exhausted.", "exercise"),
            _Line(f"I've dropped {old} completely, it's {new} three times a week now.", "exercise"),
            rng.choice(("What's my workout routine these days?", "How do I keep fit now?")),
            new,
        )

    def _new_commute(self) -> tuple[_Line, _Line, _Line, str, str]:
        rng = self.rng
        (old, _), (_, how) = rng.sample(_COMMUTES, 2)
        return (
            _Line(f"Forty minutes by {old} this morning, the commute is killing me.", "commute"),
            _Line(f"Another slow trip in by {old}, at least I had a podcast.", "commute"),
            _Line(f"New routine: I {how} to the office now and I'm never going back.", "commute"),
            rng.choice(("How do I get to work these days?", "How do I travel to my job now?")),
            how,
        )

    def _new_phone(self) -> tuple[_Line, _Line, _Line, str, str]:
        rng = self.rng
        old, new = rng.sample(_PHONES, 2)
        return (
            _Line(f"My {old} battery barely lasts until lunch.", "phone", old),
            _Line(f"The {old} froze twice today, so annoying.", "phone"),
            _Line(f"Switched phones last week, the {new} is so much faster.", "phone", new),
            rng.choice(("What phone do I have now?", "Which phone am I using at the moment?")),
            new,
        )

    # ---- writing the sessions

    def _filler(self, session: int, used_templates: set[str]) -> _Line:
        rng = self.rng
        allowed = [
            (topic, template)
            for topic, template in _FILLER
            if topic not in self.blocked[session] and template not in used_templates
        ]
        topic, template = rng.choice(allowed)
        used_templates.add(template)
        slots = {
            "city": rng.choice(_CITIES),
            "dish": rng.choice(_DISHES),
            "film": rng.choice(_FILMS),
            "friend": rng.choice(self.friends),
            "restaurant": rng.choice(_RESTAURANTS),
            "item_bare": rng.choice(_ITEMS).split(" ", 1)[1],
            "trail": rng.choice(_TRAILS),
            "book": rng.choice(_BOOKS),
            "band": rng.choice(_BANDS),
        }
        used = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        slot = _ECHO_SLOT.get(topic)
        echo = slots[slot] if slot in used else None
        text = template.format(**slots)
        return _Line(text[0].upper() + text[1:], topic, echo)

    def _reply(self, line: _Line) -> str:
        rng = self.rng
        plain, echoing = _REPLIES.get(line.topic, (_GENERIC_REPLIES, ()))
        if line.echo and echoing and rng.random() < 0.4:
            text = rng.choice(echoing).format(x=line.echo)
        elif line.topic != "signoff" and rng.random() < 0.25:
            text = rng.choice(_GENERIC_REPLIES)
        else:
            text = rng.choice(plain)
        return text[0].upper() + text[1:]

    def build(self) -> tuple[list[EvalMessage], list[EvalQuestion]]:
        rng = self.rng
        self._single()
        self._multi_hop()
        self._temporal()
        self._updated()
        messages: list[EvalMessage] = []
        ids: dict[str, str] = {}
        for s in range(self.n):
            lines = list(self.planted[s])
            pairs = max(rng.randint(3, 8), len(lines) + 1)
            used_templates: set[str] = set()
            while len(lines) < pairs:
                lines.append(self._filler(s, used_templates))
            rng.shuffle(lines)
            if rng.random() < 0.4:
                lines.append(_Line(rng.choice(_SIGNOFFS), "signoff"))
                lines.pop(next(i for i, ln in enumerate(lines) if ln.key is None))
            evening = any(line.evening for line in lines)
            hour = rng.randint(17, 21) if evening else rng.randint(7, 21)
            moment = datetime.combine(self.dates[s], time(hour, rng.randint(0, 59)), UTC)
            conversation = f"{self.prefix}-s{s + 1:02d}"
            greeting = rng.choice(_GREETINGS).format(c=self.companion)
            if hour < 11 and rng.random() < 0.5:
                greeting = "Morning! "
            number = 0
            for position, line in enumerate(lines):
                text = greeting + line.text if position == 0 else line.text
                reply = self._reply(line)
                for speaker, said in ((self.user, text), (self.companion, reply)):
                    number += 1
                    message_id = f"{conversation}-m{number:03d}"
                    messages.append(EvalMessage(message_id, conversation, moment, speaker, said))
                    if speaker == self.user and line.key:
                        ids[line.key] = message_id
                    moment += timedelta(seconds=rng.randint(20, 200))
        asked_at = datetime.combine(
            self.asked_date, time(rng.randint(9, 20), rng.randint(0, 59)), UTC
        )
        rng.shuffle(self.plans)
        questions = [
            EvalQuestion(
                id=f"{self.prefix}-q{number:02d}",
                person=self.user,
                kind=plan.kind,
                question=plan.question,
                asked_at=asked_at,
                gold=tuple(ids[k] for k in plan.gold),
                answer=plan.answer,
                distractors=tuple(ids[k] for k in plan.distractors),
            )
            for number, plan in enumerate(self.plans, start=1)
        ]
        return messages, questions


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month
