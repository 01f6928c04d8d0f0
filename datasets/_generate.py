"""Write the shipped datasets and their data cards, deterministically.

Every text is composed here from templates and seeded random choices: nothing is copied from a benchmark.
Run ``python datasets/_generate.py`` to rewrite the files, ``--check`` to verify the committed ones are current.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the hand-written texts beside this file; this checkout's orchestra_lab
import _language_texts as language_texts  # noqa: E402

Record = dict[str, object]

# -- arithmetic ------------------------------------------------------------------------------------------------------

NAMES = ["Asha", "Ravi", "Meera", "Arjun", "Priya", "Kabir", "Sara", "Tom", "Lena", "Omar", "Divya", "Rohan", "Anita"]
THINGS = ["mangoes", "notebooks", "pencils", "marbles", "stickers", "apples", "books", "balloons"]
Problem = tuple[str, Fraction, str, int]  # question, answer, category, steps


def _money(x: int | Fraction) -> str:
    return f"₹{int(x):,}" if Fraction(x).denominator == 1 else f"₹{float(x):,.2f}"


def _level1(r: random.Random) -> Problem:
    name, thing = r.choice(NAMES), r.choice(THINGS)
    a, b = r.randint(12, 60), r.randint(3, 35)
    return r.choice(
        [
            (
                f"{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now?",
                Fraction(a + b),
                "addition",
                1,
            ),
            (
                f"A class has {a} boys and {b} girls. How many students are in the class?",
                Fraction(a + b),
                "addition",
                1,
            ),
            (
                f"{name} had {a + b} {thing} and gave {b} to a friend. How many {thing} are left?",
                Fraction(a),
                "subtraction",
                1,
            ),
            (
                f"A bus had {a + b} passengers. At the next stop {b} got off. "
                "How many passengers are still on the bus?",
                Fraction(a),
                "subtraction",
                1,
            ),
        ]
    )


def _level2(r: random.Random) -> Problem:
    name, thing = r.choice(NAMES), r.choice(THINGS)
    a, b = r.randint(12, 48), r.randint(3, 25)
    return r.choice(
        [
            (f"Each box holds {a} {thing}. How many {thing} are in {b} boxes?", Fraction(a * b), "multiplication", 1),
            (
                f"A ticket costs {_money(a * 5)}. How much do {b} tickets cost, in rupees?",
                Fraction(a * 5 * b),
                "multiplication",
                1,
            ),
            (
                f"{name} shares {a * b} {thing} equally among {b} friends. How many {thing} does each friend get?",
                Fraction(a),
                "division",
                1,
            ),
            (
                f"A rope {a * b} cm long is cut into {b} equal pieces. How long is each piece, in cm?",
                Fraction(a),
                "division",
                1,
            ),
        ]
    )


def _level3(r: random.Random) -> Problem:
    name, thing = r.choice(NAMES), r.choice(THINGS)
    count, price = r.randint(3, 12), r.randint(15, 95)
    note = next(n for n in (500, 1000, 2000) if n > count * price)
    classes, size, absent = r.randint(6, 18), r.randint(25, 45), r.randint(5, 40)
    stock, sold1, sold2 = r.randint(400, 900), r.randint(50, 150), r.randint(50, 150)
    speed, hours, extra = r.randint(40, 90), r.randint(2, 6), r.randint(20, 150)
    return r.choice(
        [
            (
                f"{name} buys {count} notebooks at {_money(price)} each and pays with a {_money(note)} note. "
                f"How much change does {name} get, in rupees?",
                Fraction(note - count * price),
                "multi_step",
                2,
            ),
            (
                f"A school has {classes} classes with {size} students each. {absent} students are absent today. "
                "How many students are present?",
                Fraction(classes * size - absent),
                "multi_step",
                2,
            ),
            (
                f"A shop had {stock} {thing}. It sold {sold1} in the morning and {sold2} in the afternoon. "
                f"How many {thing} are left?",
                Fraction(stock - sold1 - sold2),
                "multi_step",
                2,
            ),
            (
                f"A train travels at {speed} km per hour for {hours} hours and then {extra} km more. "
                "How far does it travel in total, in km?",
                Fraction(speed * hours + extra),
                "multi_step",
                2,
            ),
        ]
    )


def _level4(r: random.Random) -> Problem:
    name = r.choice(NAMES)
    price, off = r.randint(8, 60) * 50, r.choice([10, 15, 20, 25, 30, 40])
    b = r.choice([3, 4, 5, 8])
    a = r.randint(1, b - 1)
    pages, litres = b * r.randint(20, 60), b * r.randint(10, 90)
    people, share = r.randint(4, 30) * 20, r.choice([15, 35, 45, 55, 65, 85])
    salary, raise_ = r.randint(20, 90) * 1000, r.choice([4, 5, 8, 10, 12])
    return r.choice(
        [
            (
                f"A jacket costs {_money(price)} and is sold at {off}% off. What is the sale price, in rupees?",
                Fraction(price * (100 - off), 100),
                "percentage",
                2,
            ),
            (
                f"{name} has read {a}/{b} of a {pages}-page book. How many pages are left to read?",
                Fraction(pages) - Fraction(a, b) * pages,
                "fraction",
                2,
            ),
            (
                f"In a survey of {people} people, {share}% said they prefer tea. How many people prefer tea?",
                Fraction(people * share, 100),
                "percentage",
                1,
            ),
            (
                f"A tank holds {litres} litres and is {a}/{b} full. How many more litres are needed to fill it?",
                Fraction(litres) - Fraction(a, b) * litres,
                "fraction",
                2,
            ),
            (
                f"A monthly salary of {_money(salary)} is raised by {raise_}%. What is the new salary, in rupees?",
                Fraction(salary * (100 + raise_), 100),
                "percentage",
                2,
            ),
        ]
    )


def _level5(r: random.Random) -> Problem:
    name, other = r.sample(NAMES, 2)
    phones, cost, profit = r.randint(12, 60), r.randint(40, 250) * 100, r.choice([8, 12, 15, 18, 22])
    b = r.choice([4, 5, 8])
    a = r.randint(1, b - 1)
    pct = r.choice([20, 25, 40, 50, 60])
    boxes = b * 20 * r.randint(6, 40)
    principal, rate, years = r.randint(10, 90) * 1000, r.choice([5, 6, 7.5, 8, 9]), r.randint(2, 6)
    ra, rb = r.sample([1, 2, 3, 4, 5, 7], 2)
    total, spend = (ra + rb) * 100 * r.randint(5, 40), r.choice([10, 20, 25, 30, 50])
    scores = [r.randint(45, 99) for _ in range(r.randint(4, 7))]
    left_after_monday = Fraction(boxes) - Fraction(a, b) * boxes
    share = Fraction(total * rb, ra + rb)
    return r.choice(
        [
            (
                f"A shop buys {phones} phones at {_money(cost)} each and sells all of them at a {profit}% profit. "
                "What is the total profit, in rupees?",
                Fraction(phones * cost * profit, 100),
                "percentage",
                3,
            ),
            (
                f"A warehouse has {boxes:,} boxes. It ships {a}/{b} of them on Monday and {pct}% of the "
                "remaining boxes on Tuesday. How many boxes are left?",
                left_after_monday * Fraction(100 - pct, 100),
                "fraction",
                3,
            ),
            (
                f"{_money(principal)} is deposited at {rate}% simple interest per year. What is the total amount after "
                f"{years} years, in rupees?",
                principal * (1 + Fraction(str(rate)) * years / 100),
                "percentage",
                3,
            ),
            (
                f"{name} and {other} share {_money(total)} in the ratio {ra}:{rb}. {other} then spends {spend}% of "
                f"their share. How much does {other} have left, in rupees?",
                share * Fraction(100 - spend, 100),
                "ratio",
                3,
            ),
            (
                f"The test scores of {len(scores)} students are {', '.join(map(str, scores))}. What is their average "
                "score, rounded to 2 decimal places?",
                Fraction(round(Fraction(sum(scores), len(scores)), 2)),
                "average",
                2,
            ),
        ]
    )


def _number(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else round(float(x), 2)


def arithmetic() -> list[Record]:
    r = random.Random(20240501)
    records: list[Record] = []
    seen: set[str] = set()
    for level, make in enumerate([_level1, _level2, _level3, _level4, _level5], start=1):
        while sum(1 for rec in records if rec["difficulty"] == level) < 40:
            question, answer, category, steps = make(r)
            if question in seen or answer.denominator not in (1, 2, 4, 5, 10, 20, 25, 50, 100):
                continue  # unique questions; answers exact to 2 decimals
            seen.add(question)
            records.append(
                {
                    "id": f"arith-{len(records) + 1:03d}",
                    "input": question,
                    "expected": _number(answer),
                    "category": category,
                    "difficulty": level,
                    "metadata": {"answer_type": "number", "steps": steps},
                }
            )
    return records


# -- intents -------------------------------------------------------------------------------------------------------

INTENTS = [
    "refund",
    "order_status",
    "cancel",
    "payment_issue",
    "account_access",
    "delivery_change",
    "product_question",
    "complaint",
]
AMBIGUITY = {"clear": 0.15, "indirect": 0.45, "mixed": 0.75}
LANGUAGE_EXTRA = {"en": 0.0, "hi": 0.05, "hinglish": 0.05}
PER_LANGUAGE = {"en": 9, "hi": 8, "hinglish": 8}  # per intent: 25 x 8 intents = 200

SLOTS = {
    "en": {
        "product": ["blue kurta", "wireless earphones", "pressure cooker", "running shoes", "phone case", "school bag"],
        "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
        "city": ["Pune", "Jaipur", "Kochi", "Lucknow", "Indore"],
        "device": ["phone", "laptop", "tablet"],
    },
    "hi": {
        "product": ["नीला कुर्ता", "वायरलेस ईयरफ़ोन", "प्रेशर कुकर", "रनिंग शूज़", "फ़ोन कवर", "स्कूल बैग"],
        "day": ["सोमवार", "मंगलवार", "बुधवार", "गुरुवार", "शुक्रवार", "शनिवार"],
        "city": ["पुणे", "जयपुर", "कोच्चि", "लखनऊ", "इंदौर"],
        "device": ["फ़ोन", "लैपटॉप", "टैबलेट"],
    },
    "hinglish": {
        "product": ["blue kurta", "earphones", "pressure cooker", "running shoes", "phone cover", "school bag"],
        "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
        "city": ["Pune", "Jaipur", "Kochi", "Lucknow", "Indore"],
        "device": ["phone", "laptop", "tablet"],
    },
}

# intent -> language -> ambiguity -> templates. Slots: {product} {order} {amount} {days} {day} {city} {device} {n}.
MESSAGES: dict[str, dict[str, dict[str, list[str]]]] = {
    "refund": {
        "en": {
            "clear": [
                "I returned the {product} last week. When will I get my refund for order {order}?",
                "Please refund the {amount} for order {order}, the item was faulty.",
                "How long does a refund take to reach my bank account? I sent back the {product} {days} days ago.",
                "I want my money back for the {product} I returned.",
            ],
            "indirect": ["The {product} went back to you {days} days ago and my account still shows nothing credited."],
            "mixed": [
                "The {product} arrived broken and I'm really unhappy with your packing, "
                "but all I want now is my money back."
            ],
        },
        "hi": {
            "clear": [
                "मैंने {product} वापस कर दिया है, ऑर्डर {order} का रिफ़ंड कब आएगा?",
                "ऑर्डर {order} के {amount} वापस कर दीजिए, सामान ख़राब निकला।",
                "{product} लौटाए {days} दिन हो गए, रिफ़ंड मेरे बैंक खाते में कब तक आएगा?",
            ],
            "indirect": ["{product} {days} दिन पहले लौटा दिया था, पर खाते में अभी तक पैसे नहीं आए।"],
            "mixed": ["{product} टूटा हुआ आया, बहुत बुरा लगा, पर अब बस मेरे पैसे वापस चाहिए।"],
        },
        "hinglish": {
            "clear": [
                "Maine {product} return kar diya hai, order {order} ka refund kab milega?",
                "Order {order} ka {amount} refund kar do please, product kharab tha.",
                "{product} return kiye {days} din ho gaye, refund bank account me kab aayega?",
            ],
            "indirect": ["{product} {days} din pehle wapas bhej diya tha, abhi tak account me paise nahi aaye."],
            "mixed": ["{product} toota hua aaya, bahut bura laga, bas ab mera paisa wapas kar do."],
        },
    },
    "order_status": {
        "en": {
            "clear": [
                "Where is my order {order}? It still says processing.",
                "Can you tell me when my {product} will be delivered?",
                "What's the status of order {order}?",
                "Has my {product} been shipped yet?",
            ],
            "indirect": ["I ordered a {product} {days} days ago and haven't heard anything since."],
            "mixed": [
                "I paid for the {product} {days} days ago; I'm not asking for a refund, "
                "I just need to know where the parcel is."
            ],
        },
        "hi": {
            "clear": [
                "मेरा ऑर्डर {order} कहाँ पहुँचा?",
                "मेरा {product} कब तक डिलीवर होगा?",
                "ऑर्डर {order} का स्टेटस बताइए।",
                "क्या मेरा {product} भेज दिया गया है?",
            ],
            "indirect": ["{days} दिन पहले {product} मँगाया था, तब से कोई ख़बर नहीं है।"],
            "mixed": ["{product} के पैसे {days} दिन पहले दे दिए थे, रिफ़ंड नहीं चाहिए, बस बताइए पार्सल कहाँ है।"],
        },
        "hinglish": {
            "clear": [
                "Mera order {order} kahan hai?",
                "Mera {product} kab tak deliver hoga?",
                "Order {order} ka status kya hai?",
                "{product} ship hua ya nahi?",
            ],
            "indirect": ["{days} din pehle {product} order kiya tha, tab se koi update nahi aaya."],
            "mixed": [
                "{product} ka payment {days} din pehle ho gaya, refund nahi chahiye, bas batao parcel kahan hai."
            ],
        },
    },
    "cancel": {
        "en": {
            "clear": [
                "Please cancel my order {order}.",
                "I don't want the {product} anymore, cancel it before it ships.",
                "How do I cancel order {order}?",
            ],
            "indirect": ["I ordered the {product} by mistake, please stop it from being sent."],
            "mixed": ["Delivery of order {order} is taking far too long and I'm fed up; just cancel it."],
        },
        "hi": {
            "clear": [
                "कृपया मेरा ऑर्डर {order} रद्द कर दीजिए।",
                "मुझे अब {product} नहीं चाहिए, भेजने से पहले कैंसिल कर दीजिए।",
                "ऑर्डर {order} कैसे कैंसिल करूँ?",
            ],
            "indirect": ["{product} ग़लती से ऑर्डर हो गया, उसे मत भेजिए।"],
            "mixed": ["ऑर्डर {order} की डिलीवरी में बहुत देर हो रही है, मैं परेशान हूँ, इसे रद्द ही कर दीजिए।"],
        },
        "hinglish": {
            "clear": [
                "Please mera order {order} cancel kar do.",
                "Mujhe ab {product} nahi chahiye, ship hone se pehle cancel kar do.",
                "Order {order} cancel kaise karun?",
            ],
            "indirect": ["{product} galti se order ho gaya, mat bhejna please."],
            "mixed": ["Order {order} ki delivery me bahut der ho rahi hai, pareshan ho gaya hoon, cancel hi kar do."],
        },
    },
    "payment_issue": {
        "en": {
            "clear": [
                "My card was charged twice for order {order}.",
                "The payment of {amount} failed but the money was deducted from my account.",
                "UPI payment is not going through at checkout on my {device}.",
                "Why was I charged {amount} extra on my card?",
            ],
            "indirect": ["{amount} left my account but the app says order {order} was never placed."],
            "mixed": [
                "I was charged {amount} twice for the {product}; please fix the double charge, I still want the item."
            ],
        },
        "hi": {
            "clear": [
                "ऑर्डर {order} के लिए मेरे कार्ड से दो बार पैसे कट गए।",
                "{amount} का पेमेंट फ़ेल हो गया लेकिन खाते से पैसे कट गए।",
                "{device} पर चेकआउट के समय UPI पेमेंट नहीं हो रहा।",
            ],
            "indirect": ["खाते से {amount} कट गए पर ऐप में ऑर्डर {order} दिख ही नहीं रहा।"],
            "mixed": ["{product} के लिए {amount} दो बार कटे हैं, सामान तो चाहिए, बस डबल पेमेंट ठीक कर दीजिए।"],
        },
        "hinglish": {
            "clear": [
                "Order {order} ke liye card se do baar paise kat gaye.",
                "{amount} ka payment fail ho gaya par account se paise kat gaye.",
                "{device} pe checkout ke time UPI payment nahi ho raha.",
            ],
            "indirect": ["Account se {amount} kat gaye par app me order {order} dikh hi nahi raha."],
            "mixed": ["{product} ke liye {amount} do baar kate, item chahiye, bas double payment theek karo."],
        },
    },
    "account_access": {
        "en": {
            "clear": [
                "I can't log in to my account on my {device}, it says wrong password.",
                "I'm not receiving the OTP to sign in on my {device}.",
                "My account got locked after {n} failed login attempts.",
                "How do I reset my password? I've tried {n} times.",
            ],
            "indirect": ["The app keeps sending me back to the sign-in screen every time I open it on my {device}."],
            "mixed": ["I can't see order {order} because I'm locked out of my account; help me get back in."],
        },
        "hi": {
            "clear": [
                "{device} पर अपने अकाउंट में लॉग इन नहीं कर पा रहा, ग़लत पासवर्ड बता रहा है।",
                "{device} पर साइन इन के लिए OTP नहीं आ रहा।",
                "{n} बार ग़लत लॉगिन के बाद मेरा अकाउंट लॉक हो गया।",
            ],
            "indirect": ["{device} पर ऐप खोलते ही बार-बार साइन इन पेज पर भेज देता है।"],
            "mixed": ["अकाउंट लॉक होने की वजह से ऑर्डर {order} देख नहीं पा रहा, पहले अकाउंट खुलवाइए।"],
        },
        "hinglish": {
            "clear": [
                "{device} pe account me login nahi ho raha, wrong password bol raha hai.",
                "{device} pe sign in ke liye OTP nahi aa raha.",
                "{n} baar galat login ke baad account lock ho gaya.",
            ],
            "indirect": ["{device} pe app kholte hi baar baar sign in page pe bhej deta hai."],
            "mixed": ["Account lock hai isliye order {order} dekh nahi pa raha, pehle account kholo."],
        },
    },
    "delivery_change": {
        "en": {
            "clear": [
                "Can you deliver order {order} to my office address instead?",
                "Please change the delivery date of my {product} to {day}.",
                "I need to update the delivery address for order {order}.",
            ],
            "indirect": ["I've moved to {city} since I placed order {order}."],
            "mixed": ["Order {order} is late and nobody is home on {day}; please send it on another day instead."],
        },
        "hi": {
            "clear": [
                "ऑर्डर {order} मेरे ऑफ़िस के पते पर भेज दीजिए।",
                "मेरे {product} की डिलीवरी {day} को कर दीजिए।",
                "ऑर्डर {order} का डिलीवरी पता बदलना है।",
            ],
            "indirect": ["ऑर्डर {order} देने के बाद मैं {city} शिफ़्ट हो गया हूँ।"],
            "mixed": ["ऑर्डर {order} पहले ही लेट है और {day} को घर पर कोई नहीं होगा, किसी और दिन भेजिए।"],
        },
        "hinglish": {
            "clear": [
                "Order {order} office ke address pe bhej do.",
                "{product} ki delivery {day} ko kar do please.",
                "Order {order} ka delivery address change karna hai.",
            ],
            "indirect": ["Order {order} ke baad main {city} shift ho gaya hoon."],
            "mixed": ["Order {order} already late hai aur {day} ko ghar pe koi nahi hoga, kisi aur din bhejo."],
        },
    },
    "product_question": {
        "en": {
            "clear": [
                "Is the {product} available in a larger size?",
                "Does the {product} come with a warranty?",
                "What material is the {product} made of?",
                "Can the {product} be washed at home?",
            ],
            "indirect": ["Thinking of buying the {product}; would it suit someone who travels a lot?"],
            "mixed": [
                "Before I order: if the {product} doesn't fit, can I return it for a refund, and does it come in black?"
            ],
        },
        "hi": {
            "clear": [
                "क्या {product} बड़े साइज़ में मिलता है?",
                "क्या {product} के साथ वारंटी मिलती है?",
                "{product} किस मटीरियल का बना है?",
            ],
            "indirect": ["{product} लेने की सोच रहा हूँ, क्या यह रोज़ के इस्तेमाल के लिए ठीक रहेगा?"],
            "mixed": ["ऑर्डर करने से पहले पूछना था, {product} फ़िट न हुआ तो रिफ़ंड मिलेगा, और क्या यह काले रंग में आता है?"],
        },
        "hinglish": {
            "clear": [
                "Kya {product} bade size me available hai?",
                "{product} ke saath warranty milti hai kya?",
                "{product} kis material ka bana hai?",
            ],
            "indirect": ["{product} lene ka soch raha hoon, roz use ke liye theek rahega?"],
            "mixed": [
                "Order se pehle poochna tha, {product} fit nahi hua to refund milega? Aur black colour me aata hai kya?"
            ],
        },
    },
    "complaint": {
        "en": {
            "clear": [
                "The delivery person who brought order {order} was very rude to me.",
                "Your customer service has ignored my emails for {days} days. This is unacceptable.",
                "The {product} quality is terrible, nothing like the photos.",
                "I am very disappointed with how order {order} was handled.",
            ],
            "indirect": ["Third time this month the {product} box came torn open. Not happy."],
            "mixed": [
                "I got a refund for the {product} eventually, but the way your team treated me was awful and I want "
                "someone to hear it."
            ],
        },
        "hi": {
            "clear": [
                "ऑर्डर {order} लाने वाले डिलीवरी वाले ने मुझसे बहुत बदतमीज़ी से बात की।",
                "{days} दिन से आपकी कस्टमर सर्विस मेरे ईमेल का जवाब नहीं दे रही, यह ठीक नहीं है।",
                "{product} की क्वालिटी बहुत ख़राब है, फ़ोटो जैसा बिल्कुल नहीं है।",
            ],
            "indirect": ["इस महीने तीसरी बार {product} का डिब्बा फटा हुआ आया, बिल्कुल ख़ुश नहीं हूँ।"],
            "mixed": [
                "{product} का रिफ़ंड तो आख़िर मिल गया, पर आपकी टीम ने जैसा बर्ताव किया वह बहुत बुरा था, "
                "मैं शिकायत दर्ज करना चाहता हूँ।"
            ],
        },
        "hinglish": {
            "clear": [
                "Order {order} lane wale delivery boy ne bahut rude tarike se baat ki.",
                "{days} din se customer care mere emails ka jawab nahi de raha, ye theek nahi hai.",
                "{product} ki quality bahut kharab hai, photo jaisa bilkul nahi.",
            ],
            "indirect": ["Is mahine teesri baar {product} ka dabba phata hua aaya, bilkul khush nahi hoon."],
            "mixed": [
                "{product} ka refund aakhir mil gaya, par aapki team ka behaviour bahut bura tha, complaint karni hai."
            ],
        },
    },
}

# The instructions are a system prompt, not part of `input`: a request's prompt is then the customer's message alone,
# so what reads it (a Script or Language route predicate, a keyword rule) sees the customer's language.
INTENT_SYSTEM = (
    "Classify the intent of the customer's message. Reply with exactly one label from: " + ", ".join(INTENTS) + "."
)


def _fill(template: str, language: str, r: random.Random) -> str:
    slots = SLOTS[language]
    values = {
        "order": f"#{r.randint(10000, 99999)}",
        "amount": f"₹{r.randint(2, 60) * 50:,}",
        "days": str(r.randint(3, 15)),
        "n": str(r.randint(3, 6)),
    } | {key: r.choice(options) for key, options in slots.items()}
    text = template.format(**values)
    return text[0].upper() + text[1:]


def _ambiguity_plan(count: int) -> list[str]:
    """Mostly clear messages, a few indirect ones, one or two with mixed signals."""
    mixed = 2 if count >= 9 else 1
    indirect = 2
    return ["clear"] * (count - indirect - mixed) + ["indirect"] * indirect + ["mixed"] * mixed


def intents() -> list[Record]:
    r = random.Random(20240502)
    records: list[Record] = []
    seen: set[str] = set()
    for intent in INTENTS:
        for language, count in PER_LANGUAGE.items():
            for k, ambiguity in enumerate(_ambiguity_plan(count)):
                templates = MESSAGES[intent][language][ambiguity]
                text = _fill(templates[k % len(templates)], language, r)
                while text in seen:
                    text = _fill(r.choice(templates), language, r)
                seen.add(text)
                difficulty = AMBIGUITY[ambiguity] + LANGUAGE_EXTRA[language] + r.uniform(-0.05, 0.05)
                records.append(
                    {
                        "id": f"intent-{len(records) + 1:03d}",
                        "input": text,
                        "expected": intent,
                        "category": language,
                        "difficulty": round(difficulty, 2),
                        "metadata": {
                            "language": language,
                            "choices": INTENTS,
                            "ambiguity": ambiguity,
                            "message": text,
                            "answer_type": "label",
                        },
                    }
                )
    return records


# -- extraction ----------------------------------------------------------------------------------------------------

PEOPLE = [
    "Meera Iyer",
    "Rahul Verma",
    "Ananya Das",
    "Karan Mehta",
    "Fatima Khan",
    "John Mathew",
    "Sneha Kulkarni",
    "Arjun Nair",
    "Priya Sharma",
    "David Lee",
    "Aisha Siddiqui",
    "Vikram Rao",
    "Neha Gupta",
    "Rohit Singh",
    "Lakshmi Menon",
    "Emma Brown",
    "Imran Qureshi",
    "Pooja Reddy",
]
CITIES = [
    "Mumbai",
    "Delhi",
    "Bengaluru",
    "Chennai",
    "Kolkata",
    "Hyderabad",
    "Pune",
    "Jaipur",
    "Lucknow",
    "Kochi",
    "Ahmedabad",
    "Indore",
    "Bhopal",
    "Chandigarh",
]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip
FIELDS = ["name", "date", "amount", "city"]
EXTRACTION_PROMPT = (
    "Extract these fields from the {kind} as a JSON object: {spec}. Use null for anything not mentioned.\n\n"
    "Text: {text}"
)
SPECS = {
    "order": "name (the customer), date (the order date, YYYY-MM-DD), amount (the total paid, a number), "
    "city (the delivery city)",
    "booking": "name (the guest or traveller), date (the stay or travel date, YYYY-MM-DD), amount (the total price, "
    "a number), city (the destination city)",
    "contact": "name (who asked to be called), date (the callback date, YYYY-MM-DD), amount (any sum of money, "
    "a number), city (where that person is based)",
}
KIND_WORDS = {"order": "order note", "booking": "booking message", "contact": "contact note"}

# kind -> number of distractors -> templates. Slots: {name} {name2} {date} {date2} {amount} {amount2} {city} {city2}.
EXTRACTION: dict[str, list[list[str]]] = {
    "order": [
        [
            "{name} placed an order on {date} for a total of {amount}. Delivery city: {city}.",
            "New order. Customer: {name}; date: {date}; amount paid: {amount}; ship to {city}.",
        ],
        [
            "{name} ordered on {date} and paid {amount} in total, including {amount2} shipping, "
            "for delivery in {city}.",
            "On {date}, {name} placed an order worth {amount} to be delivered in {city}; it was dispatched from our "
            "{city2} warehouse.",
        ],
        [
            "Hi, this is {name}; {name2} recommended your shop. I ordered on {date} (delivery promised by {date2}) and "
            "paid {amount} after a {amount2} discount. Please deliver to {city}, not my old address in {city2}.",
            "Order for {name}, placed {date} from the {city2} store by their colleague {name2}: total paid {amount} "
            "(item price plus {amount2} gift wrap), delivery to {city} on {date2}.",
        ],
    ],
    "booking": [
        [
            "Booking confirmed for {name}: hotel stay in {city} from {date}, total {amount}.",
            "{name} has booked a homestay in {city} for {date}. Total price: {amount}.",
        ],
        [
            "{name} booked a train ticket from {city2} to {city} for travel on {date}; fare {amount}.",
            "Hotel booking in {city} for {name}, check-in {date}; total {amount}, booked on {date2}.",
        ],
        [
            "{name} booked a room in {city} for {date} (booking made on {date2}) at a total of {amount}, of which a "
            "{amount2} deposit is already paid. {name2} from {city2} will join later.",
            "Flight for {name}: {city2} to {city} on {date}, total fare {amount} including {amount2} seat fee. "
            "Booked by {name2} on {date2}.",
        ],
    ],
    "contact": [
        [
            "Please call back {name} from {city} on {date}.",
            "Callback request: {name}, based in {city}, wants a call on {date}.",
        ],
        [
            "{name} (based in {city}) asked for a callback on {date}; they were referred by {name2}.",
            "Call {name} on {date}. They live in {city} but work in {city2}.",
        ],
        [
            "Message from {name} in {city}: 'I spoke to {name2} from your {city2} office on {date2}; please call me on "
            "{date}.'",
            "{name2} passed on a note: {name}, who lives in {city}, met our team in {city2} on {date2} and wants a "
            "call on {date}.",
        ],
    ],
}


def _date_text(r: random.Random, year: int, month: int, day: int) -> str:
    name = MONTHS[month - 1]
    return r.choice(
        [
            f"{day} {name} {year}",
            f"{name} {day}, {year}",
            f"{year}-{month:02d}-{day:02d}",
            f"{day:02d} {name[:3]} {year}",
        ]
    )


def _amount_text(r: random.Random, amount: int | float) -> str:
    if isinstance(amount, float):
        return r.choice([f"₹{amount:,.2f}", f"Rs. {amount:.2f}"])
    return r.choice([f"₹{amount:,}", f"Rs. {amount}", f"INR {amount:,}"])


def _extraction_record(r: random.Random, kind: str, distractors: int) -> tuple[str, dict[str, object]]:
    name, name2 = r.sample(PEOPLE, 2)
    city, city2 = r.sample(CITIES, 2)
    year, month, day = r.choice([2024, 2025]), r.randint(1, 12), r.randint(1, 28)
    month2, day2 = (month % 12) + 1, r.randint(1, 28)
    amount: int | float = r.randint(3, 400) * 25 if r.random() < 0.8 else r.randint(300, 20000) + 0.5
    text = r.choice(EXTRACTION[kind][distractors]).format(
        name=name,
        name2=name2,
        city=city,
        city2=city2,
        date=_date_text(r, year, month, day),
        date2=_date_text(r, year, month2, day2),
        amount=_amount_text(r, amount),
        amount2=_amount_text(r, r.randint(2, 20) * 10),
    )
    expected = {
        "name": name,
        "date": f"{year}-{month:02d}-{day:02d}",
        "amount": None if kind == "contact" else amount,
        "city": city,
    }
    return text, expected


def extraction() -> list[Record]:
    r = random.Random(20240503)
    records: list[Record] = []
    seen: set[str] = set()
    for kind in ("order", "booking", "contact"):
        for k in range(50):
            distractors = k % 3
            text, expected = _extraction_record(r, kind, distractors)
            while text in seen:
                text, expected = _extraction_record(r, kind, distractors)
            seen.add(text)
            difficulty = 0.2 + 0.25 * distractors + r.uniform(-0.05, 0.05)
            records.append(
                {
                    "id": f"extract-{len(records) + 1:03d}",
                    "input": EXTRACTION_PROMPT.format(kind=KIND_WORDS[kind], spec=SPECS[kind], text=text),
                    "expected": expected,
                    "category": kind,
                    "difficulty": round(difficulty, 2),
                    "metadata": {"fields": FIELDS, "distractors": distractors, "text": text, "answer_type": "json"},
                }
            )
    return records


# -- languages -----------------------------------------------------------------------------------------------------

LANGUAGE_LABELS = ["en", "hi", "hinglish"]


def _language_records(texts: dict[str, list[str]], prefix: str) -> list[Record]:
    """One record per hand-written message (datasets/_language_texts.py), labelled with its language."""
    records: list[Record] = []
    for language in LANGUAGE_LABELS:
        for text in texts[language]:
            mixed = _has_latin_word(text) and _has_devanagari_word(text)
            romanized = language == "hinglish" and not mixed
            records.append(
                {
                    "id": f"{prefix}-{len(records) + 1:03d}",
                    "input": text,
                    "expected": language,
                    "category": language,
                    "difficulty": 0.7 if mixed else 0.5 if romanized else 0.2,
                    "metadata": {
                        "scripts": "mixed" if mixed else "latin" if _has_latin_word(text) else "devanagari",
                        "choices": LANGUAGE_LABELS,
                        "answer_type": "label",
                    },
                }
            )
    return records


def _has_latin_word(text: str) -> bool:
    """A Latin word that is not an all-capitals acronym (OTP, EMI)."""
    return any(not word.isupper() for word in re.findall(r"[a-zA-Z]{2,}", text))


def _has_devanagari_word(text: str) -> bool:
    return re.search(r"[\u0900-\u097F]{2,}", text) is not None


def languages() -> list[Record]:
    return _language_records(language_texts.HELD_OUT, "lang")


def language_seed() -> list[Record]:
    return _language_records(language_texts.SEED, "seed")


def _language_evaluation(records: list[Record]) -> str:
    """Accuracy per language and the confusion table of the shipped identifier (trained on the seed set) here."""
    from orchestra_lab.strategies.language import LanguageIdentifier

    identify = LanguageIdentifier((str(rec["input"]), str(rec["expected"])) for rec in language_seed())
    pairs = Counter((str(rec["expected"]), identify(str(rec["input"]))) for rec in records)
    predicted = sorted({p for _, p in pairs})
    rows = ["| true \\ predicted | " + " | ".join(predicted) + " | accuracy |", "|---" * (len(predicted) + 2) + "|"]
    for truth in LANGUAGE_LABELS:
        total = sum(n for (t, _), n in pairs.items() if t == truth)
        cells = " | ".join(str(pairs[truth, p]) for p in predicted)
        rows.append(f"| {truth} | {cells} | {pairs[truth, truth] / total:.1%} ({pairs[truth, truth]}/{total}) |")
    right = sum(pairs[t, t] for t in LANGUAGE_LABELS)
    return (
        "**Measured.** `orchestra_lab.strategies.Language` (its `LanguageIdentifier` trained on `language_seed`, "
        f"never on these messages) gets {right}/{len(records)} = {right / len(records):.1%} right:\n\n"
        + "\n".join(rows)
        + "\n\nThese messages were written by one author and are cleaner than real traffic: expect lower accuracy "
        'on very short or loanword-heavy messages (the identifier calls "Hi" Hinglish and "Same day delivery '
        'hai?" English).'
    )


# -- data cards ----------------------------------------------------------------------------------------------------

CARDS = {
    "arithmetic": (
        "Graded arithmetic word problems with numeric answers, for comparing cheap and strong models on questions "
        "whose difficulty is known.",
        "Five levels of 40 problems. Level 1: one addition or subtraction under 100. Level 2: one multiplication or "
        "division with two-digit numbers. Level 3: two steps with numbers in the hundreds. Level 4: fractions and "
        "percentages. Level 5: three-step problems with percentages, fractions, ratios, interest or averages. "
        "Numbers are drawn so every answer is exact to two decimals.",
        "`expected` is a number (an int when whole). `difficulty` is the level 1-5; the loader maps it to "
        "(level - 0.5) / 5 and keeps the level in `metadata.difficulty_level`. `category` is the operation type. "
        '`metadata`: `answer_type` ("number"), `steps`.',
        "numeric",
    ),
    "intents": (
        "Customer-support messages labelled with one of 8 intents, in English, Hindi (Devanagari) and Hinglish "
        "(Hindi in Latin script), for routing and classification experiments.",
        "For each intent and language, messages are filled from hand-written templates (product, order number, "
        "amount, days, city...). Each intent has 9 English, 8 Hindi and 8 Hinglish messages: mostly clear ones, two "
        "indirect ones (the intent is implied) and one or two with mixed signals (another intent is mentioned).",
        "`input` is the customer's message alone; the instructions are a system prompt: run it with "
        f'`Experiment(load_dataset("intents"), ..., system="{INTENT_SYSTEM}")`. `expected` is the intent label. '
        "`category` is the language. `difficulty` comes from ambiguity: clear 0.15, indirect 0.45, mixed 0.75, "
        "+0.05 for Hindi and Hinglish, with a little jitter. `metadata`: `language`, `choices` (all labels), "
        '`ambiguity`, `message` (the message, as in `input`), `answer_type` ("label").',
        "label (normalized exact match)",
    ),
    "extraction": (
        "Short order notes, booking messages and contact notes from which a JSON object with name, date, amount "
        "and city is to be extracted.",
        "50 texts of each kind filled from templates with names, cities, dates in several formats and amounts in "
        "several currencies' notations (₹, Rs., INR). A third of the texts have no distractor, a third one (a "
        "second amount, city or date) and a third two or more (another person, city, date and amount).",
        "`input` is the full prompt (which fields, what each means, the text). `expected` is a JSON object "
        "{name, date (YYYY-MM-DD), amount (number, null for contacts), city}. `category` is the kind of text. "
        "`difficulty` is 0.2 + 0.25 x distractors, with a little jitter. `metadata`: `fields`, `distractors`, "
        '`text` (the text alone), `answer_type` ("json").',
        "json_fields",
    ),
    "languages": (
        "Customer-support messages labelled with their language -- English (en), Hindi in Devanagari (hi) or "
        "Hinglish (hinglish: Hindi in Latin script, or Hindi mixing Latin and Devanagari words) -- held apart to "
        "measure language routing (`orchestra_lab.strategies.Language`).",
        "Sentences hand-written for orchestra_lab (datasets/_language_texts.py): the same support situations (orders, "
        "refunds, payments, accounts, complaints) written in each language, with everyday English loanwords "
        "(order, refund, OTP, EMI). The Hinglish set has romanized messages and code-mixed ones. None of them is in "
        "`language_seed` (the identifier's training set) or a variant of one of its sentences.",
        "`input` is the message. `expected` and `category` are the language. `difficulty`: 0.2 one script, 0.5 "
        "romanized Hinglish, 0.7 code-mixed. `metadata`: `scripts` (latin, devanagari or mixed), `choices` (the "
        '3 labels), `answer_type` ("label").',
        "label (normalized exact match)",
    ),
    "language_seed": (
        "The training set of `orchestra_lab.strategies.Language`'s identifier: support messages labelled en, hi or "
        "hinglish (same labels as `languages`, which is the held-apart evaluation set).",
        "Sentences hand-written for orchestra_lab (datasets/_language_texts.py), separately from the `languages` "
        "set; the Hinglish ones include code-mixed messages.",
        "The same fields as `languages`.",
        "label (normalized exact match)",
    ),
}
EXTRA_SECTIONS: dict[str, Callable[[list[Record]], str]] = {"languages": _language_evaluation}


def _card(name: str, records: list[Record]) -> str:
    purpose, how, fields, scorer = CARDS[name]
    categories = Counter(str(rec["category"]) for rec in records)
    difficulties = Counter(_difficulty_bin(rec["difficulty"]) for rec in records)  # type: ignore[arg-type]
    lines = [
        f"# {name}",
        "",
        f"**Purpose.** {purpose}",
        "",
        f"**Size.** {len(records)} items in `{name}.jsonl` (one JSON object a line: id, input, expected, category, "
        "difficulty, metadata).",
        "",
        f"**Fields.** {fields}",
        "",
        f"**How it was made.** {how} Written by `datasets/_generate.py` (seeded, deterministic); no text is copied "
        "from any benchmark or other source.",
        "",
        f"**Suggested scorer.** `{scorer}`.",
        "",
        "**Categories.** " + ", ".join(f"{c}: {n}" for c, n in sorted(categories.items())) + ".",
        "",
        "**Difficulty distribution.** " + ", ".join(f"{b}: {n}" for b, n in sorted(difficulties.items())) + ".",
        "",
        "**Licence.** MIT, the same as orchestra_lab.",
        "",
    ]
    if name in EXTRA_SECTIONS:
        lines[-2:-2] = [EXTRA_SECTIONS[name](records), ""]
    return "\n".join(lines)


def _difficulty_bin(value: float) -> str:
    if isinstance(value, int):
        return f"level {value}"
    low = min(int(value * 5), 4) / 5
    return f"{low:.1f}-{low + 0.2:.1f}"


BUILDERS: dict[str, Callable[[], list[Record]]] = {
    "arithmetic": arithmetic,
    "intents": intents,
    "extraction": extraction,
    "languages": languages,
    "language_seed": language_seed,
}


def build() -> dict[str, str]:
    """File name -> contents of every shipped data file and card."""
    files = {}
    for name, builder in BUILDERS.items():
        records = builder()
        files[f"{name}.jsonl"] = "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records)
        files[f"{name}.md"] = _card(name, records)
    return files


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        stale = [n for n, text in files.items() if not (HERE / n).is_file() or (HERE / n).read_text("utf-8") != text]
        print("stale: " + ", ".join(stale) if stale else "datasets are up to date")
        return 1 if stale else 0
    for file_name, text in files.items():
        (HERE / file_name).write_text(text, encoding="utf-8")
        print(f"wrote {file_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
