"""The fixed calibration set of the int8 ONNX backend (`labeler.embedding.onnx`).

Static quantisation fixes every activation's int8 scale from the ranges seen on a calibration
set; that set is this module, written for labeler (no sentence comes from a corpus the project
tests or benchmarks on), so every machine calibrates on the same texts and builds the same model.
It mixes registers (questions, complaints, news, reviews, forum posts, abstracts, code talk,
e-mail, chat) and lengths: each sentence alone, and paragraphs of 3 to 24 of them put together
in an order fixed by a seeded generator, so the long end of the 256-token cap is calibrated too.

Change a sentence and the int8 model's build hash changes with it (`calibration_texts` feeds the
hash), so an old build or its cached vectors are never reused for a new set.
"""

from __future__ import annotations

import random

SENTENCES = (
    # service and support
    "Why was I charged twice for the same order last Tuesday?",
    "I moved house, so how do I update the delivery address on my account?",
    "The parcel tracker has said 'out for delivery' for three days now.",
    "Please cancel my subscription before the next billing cycle starts.",
    "Can someone call me back? I have been on hold for forty minutes.",
    "My password reset email never shows up, not even in the spam folder.",
    "The app logs me out every time I switch to another screen.",
    "Is there a fee for paying my invoice with a credit card instead of a transfer?",
    "I would like a refund for the broken kettle, it stopped working after a week.",
    "Do you ship to Norway, and if so, how long does it usually take?",
    "The replacement part you sent is the wrong size for my model.",
    "How can I add my partner as a second user on the family plan?",
    "Your chatbot keeps sending me in circles; I need a human, please.",
    "What documents do I need to open a business account?",
    "The coupon code SPRING20 says it has expired, but the ad says it runs until June.",
    "I was promised a callback within 24 hours and it has now been a week.",
    "Could you split the payment into three monthly instalments?",
    "The technician never arrived for the appointment between 8 and 12.",
    "Where do I find the serial number on the back of the router?",
    "Thanks for sorting that out so quickly, the new card works fine.",
    # technology and software
    "After the latest update, the laptop fan runs at full speed even when idle.",
    "Has anyone got the printer driver working on a 64-bit install?",
    "The function returns None when the list is empty, which breaks the caller.",
    "I keep getting a segmentation fault when I free the buffer twice.",
    "How do I merge two branches without losing the commit history?",
    "The database query takes eleven seconds because the column has no index.",
    "Use a context manager so the file is closed even if an exception is raised.",
    "My monitor flickers at 144 Hz but is stable at 60 Hz.",
    "Which is faster for this workload, a hash map or a sorted array with binary search?",
    "The build fails on the CI server but passes on every developer's machine.",
    "Disk usage jumped to 98 percent overnight and the logs are the culprit.",
    "She wrote a small script that renames thousands of photos by the date they were taken.",
    "The API returns a 429 error when we send more than ten requests a second.",
    "Is it safe to overclock the memory if the voltage stays at the default?",
    "Regular expressions are powerful, but this one is impossible to read.",
    "The old server still runs an operating system that lost support years ago.",
    "We replaced the spinning disks with solid state drives and boot time fell to seconds.",
    "Can a virtual machine share the clipboard with the host?",
    "The keyboard shortcut for undo does nothing inside the dialog box.",
    "Compile with optimisations off when you need to step through the code in a debugger.",
    # science and space
    "The probe will reach the outer planet's orbit after a six-year cruise.",
    "Researchers measured how quickly the glacier retreated over the last decade.",
    "A new telescope image shows dust lanes in a galaxy millions of light years away.",
    "The experiment was repeated three times and gave the same result within error.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "Why does the moon look larger near the horizon than high in the sky?",
    "The vaccine trial enrolled twelve thousand volunteers across four countries.",
    "Bacteria in the soil fix nitrogen that the plants then use to grow.",
    "The rocket's second stage failed to ignite and the payload was lost.",
    "Earthquakes of this size occur along the fault roughly once a century.",
    "A single cup of seawater contains millions of microscopic organisms.",
    "The team used a particle accelerator to smash lead nuclei together.",
    "Astronauts on the station grow lettuce under red and blue lights.",
    "The comet's tail always points away from the sun, not behind its path.",
    "Sea surface temperatures were the highest since records began.",
    # health and medicine
    "I have had a dry cough and a mild fever since the weekend.",
    "The clinic asks patients to arrive fifteen minutes before their appointment.",
    "Is it normal for a new medication to make you feel dizzy in the morning?",
    "Walking thirty minutes a day lowers the risk of heart disease.",
    "The doctor recommended an X-ray to rule out a fracture in the wrist.",
    "Children should get the second dose before they start school.",
    "Sleep problems often get worse during long periods of stress.",
    "The pharmacy was out of the inhaler, so I had to drive to the next town.",
    "A balanced diet includes vegetables, whole grains and enough protein.",
    "Migraine sufferers sometimes see flashing lights before the headache begins.",
    # sport
    "The home side scored twice in the final five minutes to win the match.",
    "She broke the national record in the 400 metres at her first major event.",
    "The goalkeeper was sent off after handling the ball outside the area.",
    "Tickets for the final sold out within an hour of going on sale.",
    "He has played every game this season despite a sore shoulder.",
    "The marathon route passes the old harbour and finishes in the main square.",
    "Rain delayed the start of the tennis match by nearly two hours.",
    "Their coach was fired after a run of nine defeats in a row.",
    "The cyclist attacked on the last climb and held on for the stage win.",
    "Who do you think will win the league if the top two both lose this weekend?",
    # politics and society
    "The council voted to build a new bridge across the river next year.",
    "Parliament debated the budget late into the night before the vote.",
    "Protesters gathered outside the ministry to demand cleaner air.",
    "The mayor promised more buses on the routes to the hospital.",
    "Voter turnout was lower than at any election in the last thirty years.",
    "The treaty limits the number of warheads each side may keep.",
    "Local shops say the new parking rules have driven customers away.",
    "A court ruled that the law was unconstitutional and must be rewritten.",
    "The government plans to raise the retirement age by two years.",
    "Both candidates agreed to three televised debates before polling day.",
    # business and finance
    "The company reported a quarterly loss after sales fell in Asia.",
    "Interest rates rose for the fourth time this year to curb inflation.",
    "Shares jumped eight percent when the merger was announced.",
    "Our supplier raised prices, so the margin on every unit shrank.",
    "The startup raised twelve million dollars in its second funding round.",
    "How much should I save each month to retire at sixty?",
    "The bakery chain will close twenty stores and open ten larger ones.",
    "Oil prices fell sharply after the producers agreed to pump more.",
    "Please find attached the invoice for March; payment is due in thirty days.",
    "Analysts expect the housing market to cool as mortgages get dearer.",
    # travel and places
    "Our flight was cancelled and the airline put us on a train instead.",
    "The museum is closed on Mondays but open late on Thursdays.",
    "Is it worth renting a car, or are the buses on the island reliable?",
    "We hiked to the lake at dawn and had the whole shore to ourselves.",
    "The hotel room was clean, but the walls were so thin we heard everything.",
    "You need a visa if you stay longer than ninety days.",
    "The old town is best explored on foot, starting from the cathedral.",
    "Our luggage arrived two days after we did.",
    "The ferry crossing takes about three hours in calm weather.",
    "Which neighbourhood would you recommend for a quiet week with kids?",
    # food and home
    "Let the dough rest for an hour before you roll it out.",
    "This soup tastes better the next day, once the spices have settled.",
    "The dishwasher leaves a white film on all the glasses.",
    "Can I swap butter for olive oil in this cake recipe?",
    "The restaurant was packed, but the waiter found us a table by the window.",
    "Our tomatoes split after the heavy rain last week.",
    "How do I get rid of the mould in the corner of the bathroom ceiling?",
    "We painted the kitchen a pale green and it feels much bigger.",
    "The recipe says a pinch of salt, but how much is a pinch really?",
    "The neighbours' dog barks every morning at six.",
    # reviews and opinions
    "The battery lasts two full days, which is more than I expected.",
    "Great sound, but the headphones hurt my ears after an hour.",
    "The plot was thin, yet the acting kept me watching to the end.",
    "Terrible service: we waited an hour and the food arrived cold.",
    "I have worn these boots through two winters and they are still waterproof.",
    "The sequel is longer, louder and somehow much less fun.",
    "Cheap, sturdy and easy to assemble; I would buy it again.",
    "The screen scratched in the first week even with a case on.",
    "Honestly the best pizza I have had outside of Naples.",
    "The manual was useless, but the online videos explained everything.",
    # history, religion, culture
    "The castle was rebuilt twice after fires in the fifteenth century.",
    "Many pilgrims still walk the old route across the mountains each summer.",
    "The novel was banned for years before it became a classic.",
    "Scholars disagree about when the manuscript was first written down.",
    "The festival marks the end of the harvest with music and lanterns.",
    "He argued that faith and reason need not be enemies.",
    "The empire's roads connected cities thousands of kilometres apart.",
    "The orchestra played the symphony without a conductor.",
    "Her grandmother kept letters from the war in a tin under the bed.",
    "The temple's carvings tell the story of a king and his exile.",
    # education and research writing
    "We propose a method that reduces training time without hurting accuracy.",
    "The survey received 1,204 responses, a rate of about 31 percent.",
    "Students who slept more before the exam scored higher on average.",
    "Results are reported as means with standard deviations in brackets.",
    "Our approach outperforms the baseline on three of the four benchmarks.",
    "The lecture covers sorting algorithms and their worst-case behaviour.",
    "Further work is needed to confirm the effect in larger samples.",
    "The thesis examines how small towns adapted to the closure of the mines.",
    "Participants were randomly assigned to one of two groups.",
    "A limitation of this study is that all data were self-reported.",
    # cars, transport, energy
    "The engine warning light came on as I was driving up the hill.",
    "Electric buses now run on half of the city's routes.",
    "My car makes a grinding noise whenever I brake hard.",
    "The new wind farm can power about forty thousand homes.",
    "Trains were delayed because a tree fell on the line near the tunnel.",
    "Should I buy winter tyres or are all-season ones good enough?",
    "Solar panels on the roof cover most of our electricity in summer.",
    "The motorbike needs a new chain and a full service before the trip.",
    "Fuel prices at the pump fell for the third week running.",
    "The airport will add a second runway by the end of the decade.",
    # nature, animals, weather
    "A storm is expected to bring strong winds and heavy rain tonight.",
    "Owls hunt at night and can turn their heads almost all the way round.",
    "The river burst its banks and flooded the fields downstream.",
    "Bees are vital for pollinating many of the crops we eat.",
    "Snow closed the mountain pass for most of the week.",
    "The forest fire was finally contained after burning for ten days.",
    "Our cat refuses to eat anything but one brand of food.",
    "Whales were spotted close to the shore for the first time in years.",
    "The drought has left the reservoir at a quarter of its capacity.",
    "Autumn came early and the leaves turned orange in September.",
    # chat, informal, misc
    "lol that meeting could have been an email",
    "anyone know a good place to fix a cracked phone screen?",
    "Running late, save me a seat!",
    "ok so what time are we leaving tomorrow",
    "I can't believe it's already December.",
    "Happy birthday! Hope you have a wonderful day.",
    "Did you see the game last night? Unreal ending.",
    "brb, the pizza's here",
    "Not sure this is the right forum, but here goes.",
    "Thanks in advance for any help you can give.",
    # law, work, admin
    "The contract can be ended by either party with three months' notice.",
    "Employees must submit their expenses by the fifth of each month.",
    "The landlord wants to keep the whole deposit for a small stain.",
    "Jury selection is expected to take most of the week.",
    "The patent covers the design of the hinge, not the material.",
    "Your application is incomplete: the second page is missing a signature.",
    "The meeting has been moved to Thursday at 3 pm in room 204.",
    "Overtime is paid at one and a half times the normal rate.",
    "The witness said she saw a blue van leave just after midnight.",
    "Please do not reply to this automated message.",
    # numbers, codes and odd tokens
    "Order #48213 shipped on 2024-03-17 via standard post.",
    "Call +44 20 7946 0958 between 9:00 and 17:30, Monday to Friday.",
    "The error log says: ValueError: invalid literal for int() with base 10.",
    "See https://example.org/docs/setup for the full installation guide.",
    "Mix 250 g of flour, 2 eggs and 100 ml of milk.",
    "The score was 3-1 after extra time (2-1 at full time).",
    "Set TIMEOUT=30 and retry with --verbose to see what fails.",
    "Q3 revenue: $4.2bn, up 7% year on year; EPS $1.18.",
    "Temperatures will range from -4 to 2 degrees Celsius.",
    "Version 2.10.1 fixes the crash reported in ticket ABC-7731.",
)

PARAGRAPHS = 96  # how many multi-sentence texts to add to the single sentences
SEED = 20240613  # fixes which sentences each paragraph joins, on every machine


def calibration_texts() -> list[str]:
    """The calibration set: every sentence, then PARAGRAPHS paragraphs of 3 to 24 sentences
    (Python's `random.Random(SEED)`, whose sequence is fixed across versions and machines)."""
    rng = random.Random(SEED)
    texts = list(SENTENCES)
    for i in range(PARAGRAPHS):
        size = 3 + (i * 7) % 22  # 3..24 sentences: about 40 to 350 word pieces
        texts.append(" ".join(SENTENCES[rng.randrange(len(SENTENCES))] for _ in range(size)))
    return texts
