"""Script fragments for demo calls: short spoken lines with ``{slots}``, grouped by what they do in a call.

Calls are assembled from these (see ``calls.py``), so a corpus is built from combinations, not a few
templates. Slots are filled from the call's context (``script.CallContext.slots``): people (``{rep}``,
``{se}``, ``{c0}`` the champion, ``{c1}``, ``{c2}``), the account (``{company}``, ``{city}``), deal facts
(``{amount}`` in $k, ``{seats}``, ``{price}``, ``{competitor}``), product (``{area}``, ``{feature}``) and
dates relative to the call (``{by_day}``, ``{follow_day}``, ``{month_soon}``, ``{quarter}``,
``{next_quarter}``, ``{renewal_date}``). Wording the pipeline's intelligence keys on (budget, competitors,
churn, severity, action items, follow-ups) is deliberately natural: the phrases a real buyer or rep would
say.
"""

from __future__ import annotations

COMPETITORS: tuple[str, ...] = ("Gong", "Chorus", "Clari", "Salesloft", "Outreach")

PRODUCT_AREAS: tuple[str, ...] = (
    "call scoring", "deal risk alerts", "coaching scorecards", "the CRM sync", "topic trackers",
    "forecast roll-ups", "talk-ratio analytics", "the call library",
)  # fmt: skip

# --- openings ---------------------------------------------------------------------------------------------
GREETINGS = (
    "Hi {c0}, thanks for making the time today.",
    "Good {part_of_day}, {c0}! Can you hear me okay?",
    "Hey {c0}, great to see you again. How's everything at {company}?",
    "Hi everyone, thanks for joining. I know it's a busy week.",
    "Hello {c0}, I appreciate you carving out the time on a {weekday}.",
)
GREETING_REPLIES = (
    "Hi {rep}, yes, I can hear you fine. Thanks for setting this up.",
    "Hey {rep}, good to see you. Sorry, I'm running a minute late from my last meeting.",
    "Hi, all good on my end. Let me just close a couple of windows.",
    "Thanks {rep}, glad we could get this on the calendar.",
)
SMALL_TALK = (
    ("How's the weather in {city} this week?", "Honestly, it's been lovely. First week we've had "
        "the windows open."),
    ("Did you do anything fun over the weekend?", "We took the kids hiking, so I'm a little sore "
        "today, but it was great."),
    ("I saw {company} was at the sales leadership conference last week. Were you there?",
     "I was, yes. Lots of talk about AI, as you can imagine."),
    ("Is that a dog I hear in the background?", "Ha, yes, that's Biscuit. He has opinions about the "
        "mail carrier."),
    ("How was the trip? Last time you mentioned you were heading to Lisbon.",
     "It was wonderful, thanks for asking. The food alone was worth it."),
    ("Busy end of quarter for you?", "Always. But we closed a couple of big ones, so the mood is good."),
    ("Are you back in the office these days or still mostly remote?",
     "Three days a week in the office now. It's nice to see people again."),
)  # fmt: skip
AGENDA = (
    "So for today, I'd like to {agenda_goal}, and leave ten minutes at the end for next steps. Does "
    "that work?",
    "Quick agenda: {agenda_goal}, then we'll agree on what happens next. Anything you'd add?",
    "My goal for the next half hour is to {agenda_goal}. Sound good?",
)
AGENDA_REPLIES = (
    "That works for me.",
    "Sounds good. I'd also like to save a few minutes for pricing questions.",
    "Perfect, let's do it.",
    "Yes, that's great. {c1} might have to drop a few minutes early, just so you know.",
)
AGENDA_GOALS = {
    "discovery": "learn how your team works today and where it hurts",
    "demo": "show you the parts of Lumen that map to what you told us last time",
    "negotiation": "walk through the proposal and work out the commercial details",
    "support": "get to the bottom of the issue you reported",
    "renewal": "review how things have gone this year and talk about the renewal",
    "qbr": "review the quarter's results and agree on goals for {next_quarter}",
}

# --- discovery: six areas, each a set of questions and answers --------------------------------------------
DISCOVERY_QUESTIONS = {
    "pain": (
        "What's prompting you to look at conversation intelligence right now?",
        "What's the biggest headache with how your team reviews calls today?",
        "If you could fix one thing about your sales calls, what would it be?",
    ),
    "current_process": (
        "Can you walk me through how your managers review calls today?",
        "How do reps get feedback on their calls at the moment?",
        "What does a typical week of coaching look like for a frontline manager?",
    ),
    "timeline": (
        "When would you ideally want something live?",
        "Is there a date or an event driving the timing on this?",
        "What's your timeline for making a decision?",
    ),
    "decision_makers": (
        "Who else is involved in a decision like this?",
        "Besides you, who needs to sign off on a purchase like this?",
        "How does your team usually buy software? Who has the final say?",
    ),
    "budget": (
        "Have you set aside budget for this?",
        "Do you have a budget range in mind for this project?",
        "Where would the budget for something like this come from?",
    ),
    "current_tools": (
        "What are you using today for call recording or analytics?",
        "Are you evaluating any other vendors at the moment?",
        "What tools are already in your sales stack?",
    ),
}
DISCOVERY_ANSWERS = {
    "pain": (
        "Honestly, our managers can't listen to more than a handful of calls a week, so coaching is mostly "
        "guesswork.",
        "We lost two deals last quarter that looked healthy in the CRM, and nobody saw it coming.",
        "Ramp time. New reps take five or six months to get productive and we don't really know why.",
        "Our forecast calls are basically opinions. I want evidence from the actual conversations.",
    ),
    "current_process": (
        "Managers pick a couple of recordings from Zoom each week and take notes in a spreadsheet.",
        "Mostly ride-alongs and gut feel, to be honest. There's no consistent scorecard.",
        "We have a weekly film session where the team reviews one call together. It's useful but it doesn't "
        "scale.",
    ),
    "timeline": (
        "We'd like something in place before our sales kickoff in {month_soon}.",
        "No hard deadline, but ideally we'd roll it out this quarter.",
        "We're hiring twelve reps in {month_soon}, so I'd want this running before they start.",
    ),
    "decision_makers": (
        "I'd run point, but {cfo_name}, our CFO, signs anything over fifty thousand.",
        "Our CRO makes the final call, and IT security has to approve any new vendor.",
        "It's me and {c1}, and procurement gets involved once we pick a vendor.",
    ),
    "current_tools": (
        "Just the built-in recording in Zoom and Salesforce for everything else.",
        "Nothing formal yet. Some reps use their own note-taking apps.",
    ),
}
COMPETITOR_ANSWERS = (
    "We've had a trial of {competitor} running, but adoption was pretty low.",
    "We're on {competitor} today and the contract is up in {month_soon}.",
    "We're also talking to {competitor}, so I'll be comparing the two.",
    "A sister team uses {competitor}, and leadership asked me to look at alternatives.",
)
BUDGET_CONFIRMED = (
    "Yes, we have about ${amount}k allocated for this in {quarter}.",
    "We've got roughly ${amount}k approved for sales tooling this year.",
    "The budget is approved. It's around ${amount}k, and it sits with me.",
)
BUDGET_NOT_APPROVED = (
    "Budget isn't approved yet. I'd have to build a business case first.",
    "Not yet, honestly. It depends on how {quarter} closes.",
    "We don't have budget set aside for this. I'd need to take it to {cfo_name}.",
)
BUDGET_VOLUNTEERED = (
    "By the way, we do have about ${amount}k set aside for this, so budget isn't the issue.",
)
DISCOVERY_FOLLOW_UPS = (
    "That's really helpful, thank you.",
    "Interesting. How long has that been the case?",
    "Got it. And how does that show up in your numbers?",
    "Makes sense. We hear that a lot from teams your size.",
)
PROBES = (
    ("What happens when a deal slips? Who notices first?",
     "Usually the manager in the Friday forecast meeting, which is too late."),
    ("How many reps are on the team today?", "About {seats} quota-carrying reps, plus eight managers."),
    ("How do you measure coaching today?", "We don't, really. That's part of the problem."),
    ("What would success look like a year from now?",
     "Every manager coaching from real calls, and ramp time under four months."),
    ("Which CRM are you on?", "Salesforce, and we're pretty strict about keeping it clean."),
)  # fmt: skip

# --- pitch and demo ---------------------------------------------------------------------------------------
PITCH = (
    "Lumen records and transcribes every call, then scores it against the playbook your managers define.",
    "The idea is that managers spend their time coaching, not hunting for the right recording.",
    "Most teams see ramp time drop by about a third in the first two quarters.",
    "We sync everything back to Salesforce, so nobody has to update fields by hand after a call.",
    "Our customers usually start with one team, prove the value, and roll out from there.",
)
DEMO_INTRO = (
    "Let me share my screen. You should see the Lumen home page now.",
    "Okay, I'm sharing now. Shout if the screen is too small.",
)
DEMO_AREA = (
    "Here's {area}. Everything you see is built from the transcript, so it updates a few minutes after the "
    "call ends.",
    "This is {area}. Managers can filter by rep, by stage or by competitor mentioned.",
    "Now, {area} is where most managers live day to day. You can configure it per team.",
    "So {area} works across every call in the quarter, not just the ones someone happened to listen to.",
)
DEMO_QUESTIONS = (
    "Can we customize {area} for our own sales methodology?",
    "How long does it take to set up {area}?",
    "Does {area} work for calls in other languages?",
    "Who can see {area}? Can reps see each other's scores?",
    "What happens with {area} if a call has bad audio?",
)
DEMO_ANSWERS = (
    "Yes, completely. You define the criteria and the weights, and we score against them.",
    "Most teams are up and running in about two weeks, including the CRM connection.",
    "We support twenty languages today, and the scoring works the same way across them.",
    "That's all permission-based. By default reps see their own calls and their team's averages.",
    "We flag low-confidence transcripts so nobody gets coached on a bad recording.",
)
POSITIVE_REACTIONS = (
    "This looks great. That's exactly what we need.",
    "Oh, I love that. Our managers would use that every day.",
    "That's really impressive, honestly.",
    "Okay, that would save us hours every week.",
    "Nice, that's much cleaner than what we have now.",
)
SKEPTICAL_REACTIONS = (
    "Hmm, I'm not sure our reps would actually use that.",
    "That looks a bit complicated, to be honest.",
    "I'm worried that's going to be a lot of work for the managers.",
    "We tried something similar before and it didn't stick.",
)
COMPETITOR_QUESTIONS = (
    "How is this different from {competitor}?",
    "Why would we pick Lumen over {competitor}?",
    "{competitor} showed us something similar last week. What's the difference?",
)
COMPETITOR_ANSWERS_REP = (
    "Good question. {competitor} is strong on recording, but our scoring is configurable per team and it's "
    "included, not an add-on.",
    "A lot of our customers came from {competitor}. The main reasons were the coaching workflow and "
    "the price.",
    "I'd say {competitor} is built for the CRO, and we're built for the frontline manager.",
)

# --- negotiation ------------------------------------------------------------------------------------------
PRICING = (
    "For {seats} seats on the Growth plan, list comes to ${price}k a year.",
    "Based on {seats} seats, the proposal is ${price}k annually, with onboarding included.",
)
DISCOUNT_ASKS = (
    "Is there any flexibility on that number?",
    "What would it take to get the price down a bit?",
    "If we sign a two-year term, can you do better on the price?",
)
DISCOUNT_ANSWERS = (
    "If we can get the order form signed by {by_day}, I can offer {discount} percent off the first year.",
    "On a two-year term I can do {discount} percent. That's the best I can get approved.",
    "I can't move much on the per-seat price, but I can include the premium onboarding package.",
)
OBJECTIONS = {
    "price": (
        "Honestly, that's well above what we expected. It's a tough number to take to finance.",
        "The price is the main problem. {competitor_or_other} quoted us noticeably less.",
        "I like the product, but at that price it's hard to justify right now.",
    ),
    "timing": (
        "The timing is tricky. We're in the middle of a reorg, so this is not a priority this quarter.",
        "We can't realistically start before {month_soon}. Everyone is heads down on the product launch.",
        "I'd love to move forward, but the timing isn't right until the new fiscal year.",
    ),
    "security": (
        "Our security team will need a SOC 2 report and a pen test summary before anything moves.",
        "Security review is going to be the long pole here. They take six weeks on average.",
        "We'll need to go through a security review, and they have concerns about storing call recordings.",
    ),
}
OBJECTION_HANDLED = {
    "price": (
        "Totally fair. If we look at the ramp-time savings alone, the tool pays for itself in about "
        "five months. "
        "I'll put that math in writing for {cfo_name}.",
        "I understand. Let's look at starting with one team to keep the first year lower.",
    ),
    "timing": (
        "That makes sense. What if we sign now with a start date in {month_soon}, so you lock in "
        "the pricing?",
        "Understood. We could run a small pilot in the meantime so you're ready when the timing works.",
    ),
    "security": (
        "No problem at all. I'll send our SOC 2 Type II report and the pen test summary today, and {se} can "
        "join a call with your security team.",
        "We go through this every week. Our trust portal has everything, and I'll get you access "
        "this afternoon.",
    ),
}
OBJECTION_UNRESOLVED = (
    "Let me see what I can do and get back to you.",
    "I hear you. I'll talk to my manager about it.",
    "Okay. Well, let's keep talking and see where we land.",
)
OBJECTION_ACCEPTED = (
    "Okay, that helps. Send that over and I'll take it forward.",
    "That's reasonable. Let's go with that.",
    "Great, that addresses my main concern.",
)
OBJECTION_LINGERING = (
    "I appreciate that, but I'm still worried about it, honestly.",
    "Hmm. I'll need to think about it.",
    "That doesn't really solve it for us, but okay.",
)
LEGAL = (
    ("Our legal team has a few redlines on the MSA. Mostly the liability cap.",
     "That's normal. Send them over and our legal team will turn them around within a couple of days."),
    ("Do you support a data processing agreement for our EU teams?",
     "Yes, we have a standard DPA and we host EU customer data in Frankfurt."),
    ("Can we pay quarterly instead of annually up front?",
     "We can do quarterly billing on a two-year term."),
)  # fmt: skip

# --- support ----------------------------------------------------------------------------------------------
BUGS = {
    "critical": (
        "Since yesterday's update nobody can log in through SSO. This is completely blocking our whole team.",
        "The CRM sync has been writing call notes to the wrong opportunities. It's corrupting our "
        "pipeline data "
        "and we need it fixed urgently.",
    ),
    "high": (
        "{area} has been timing out every morning this week. Managers can't run their one-on-ones.",
        "Recordings from our Zoom calls stopped showing up on Tuesday. We're missing about half the calls.",
    ),
    "medium": (
        "The scores in {area} don't match what the managers see in the export. It's confusing people.",
        "Transcripts for calls with more than four people get the speakers mixed up pretty often.",
    ),
    "low": (
        "It's minor, but the dates in the weekly email show in US format for our UK team.",
        "The filter in {area} resets every time you go back a page. It's annoying but we have a workaround.",
    ),
}
TROUBLESHOOTING = (
    ("When did you first notice it?", "I think it started right after the release on {weekday_before}."),
    ("Is it happening for everyone or just some users?", "Everyone on the sales team, as far as I can tell."),
    ("Which browser are you using?", "Chrome, the latest version. We tried Edge too, same thing."),
    ("Can you share a screenshot or the error message?",
     "Sure, I'll paste it in the chat. It just says something went wrong, please try again."),
    ("Did anything change on your side recently, like SSO settings?",
     "Not that I know of, but let me double-check with {c1} from IT."),
)  # fmt: skip
SUPPORT_COMMITMENTS = {
    "critical": "I'm escalating this as a P1 with engineering right now, and I'll update you within "
    "the hour.",
    "high": "I'm filing this as a high-priority ticket with engineering and I'll update you by {by_day}.",
    "medium": "I'll open a ticket for this and get you an answer from the product team by {by_day}.",
    "low": "I'll log it with the product team. It's a small fix, so it should make the next release.",
}
FRUSTRATION = (
    "Honestly, this is really frustrating. It's the second time this quarter.",
    "I'm disappointed, to be honest. We expected better support at this price.",
    "My team is pretty upset about this, and I'm the one who recommended Lumen.",
)
GRATITUDE = (
    "Thanks, I really appreciate how quickly you jumped on this.",
    "That's great, thank you. That's a big relief.",
    "Perfect, thanks for the help.",
)
FEATURE_REQUESTS = {
    "urgent": (
        "We really need a way to export scorecards to PDF before our renewal. Our execs won't log in.",
        "It would really help if {area} supported Microsoft Teams calls. We're moving to Teams next month.",
    ),
    "nice_to_have": (
        "One small request: it would be nice if we could tag calls by product line.",
        "It would be great if reps could bookmark moments in a call for their manager.",
        "Any chance of a dark mode? A few of the reps keep asking.",
    ),
}
FEATURE_RESPONSES = (
    "That's a great idea. I'll share it with the product team and let you know what they say.",
    "That's on the roadmap for {next_quarter}, actually. I'll make sure your use case is in there.",
    "Noted. Can you send me a couple of examples so I can write it up properly?",
)

# --- renewal and QBR --------------------------------------------------------------------------------------
USAGE_REVIEW = (
    "Looking at usage, {active_pct} percent of your licensed seats were active last month.",
    "Your managers reviewed about {reviewed_calls} calls in {quarter}, which is up from last quarter.",
    "Adoption has been strongest on {area}. The team in {city} uses it every day.",
)
RESULTS_POSITIVE = (
    "Our win rate is up about {win_rate_up} points since we rolled out the scorecards. The team loves it.",
    "New reps are ramping about six weeks faster than last year. That's been huge for us.",
    "Honestly, Lumen has been fantastic. Forecast calls are so much better now.",
)
RESULTS_MIXED = (
    "It's been okay. Some managers love it, others haven't really adopted it.",
    "The results are mixed, honestly. We haven't seen the impact on win rate we hoped for.",
)
CHURN_SIGNALS = (
    "I'll be honest with you: we're considering cancelling at renewal.",
    "Leadership is cutting tools, and conversation intelligence is not a priority this quarter.",
    "{competitor_or_other} offered us a much lower price, and finance is pushing us to switch.",
    "We're not sure we'll renew. Usage dropped off after the reorg.",
)
RETENTION_RESPONSES = (
    "I really appreciate you telling me. Let's put together a plan to get adoption back up before "
    "{renewal_date}.",
    "Thank you for being upfront. Can we get thirty minutes with your CRO to review the value together?",
    "Understood. Let me see what flexibility we have on the renewal terms.",
)
EXPANSION = (
    "We're actually thinking about adding the customer success team, so maybe another {extra_seats} seats.",
    "If the pilot in {city} keeps going like this, we'll want to roll it out to EMEA too.",
)
RENEWAL_TERMS = (
    "Your renewal date is {renewal_date}. We're proposing the same per-seat price with a two-year option.",
    "The renewal comes up on {renewal_date}. There's a five percent uplift on list, but I can hold your "
    "current rate on a two-year term.",
)
QBR_GOALS = (
    "For {next_quarter}, I'd suggest we focus on getting every manager to review at least five calls a week.",
    "Next quarter, let's set up the deal risk alerts for your enterprise team.",
    "One goal for {next_quarter} could be bringing the new hires onto the coaching scorecards.",
)
QBR_GOAL_REPLIES = (
    "That sounds right. I'll get buy-in from the managers.",
    "Agreed. Let's make that the headline goal.",
    "I like that, but we'll need help with training.",
)

# --- next steps and closing -------------------------------------------------------------------------------
REP_ACTIONS = {
    "discovery": (
        "I'll send over a recap and a couple of customer stories by {by_day}.",
        "I'll put together a tailored demo for your managers and send a few times that work.",
    ),
    "demo": (
        "I'll send the proposal by {by_day}.",
        "I'll share the recording of this demo and the security documentation by {by_day}.",
    ),
    "negotiation": (
        "I'll send the revised order form by {by_day}.",
        "I'll get the updated pricing approved and send it over by {by_day}.",
    ),
    "support": (
        "I'll send you the ticket number and a summary of what we found by {by_day}.",
        "I'll check in with engineering and send you an update by {by_day}.",
    ),
    "renewal": (
        "I'll send the renewal quote with both options by {by_day}.",
        "I'll put together an adoption plan and share it by {by_day}.",
    ),
    "qbr": (
        "I'll send the QBR deck and the goals we agreed by {by_day}.",
        "I'll set up the training sessions for your new managers and send invites by {by_day}.",
    ),
}
CONTACT_ASKS = (
    "Can you loop in your CFO next week?",
    "Could you send me the list of managers who should get access by {by_day}?",
    "Can you introduce me to your IT security lead so we can start the review?",
    "Could you share your current sales scorecard so we can set it up in Lumen?",
)
CONTACT_AGREES = (
    "Sure, I'll loop in {cfo_name} next week.",
    "Yes, I'll send that over by {by_day}.",
    "Will do. I'll make the introduction today.",
    "Yep, I can do that.",
)
FOLLOW_UP_PROPOSALS = (
    "Let's schedule a follow-up call for {follow_day} to go through it together.",
    "How about we get thirty minutes on the calendar for {follow_day}?",
    "Can we set up a follow-up meeting on {follow_day} with {c1} as well?",
)
FOLLOW_UP_REPLIES = (
    "{follow_day} works. Send me an invite.",
    "{follow_day} is good, any time after two.",
    "Let me check my calendar, but {follow_day} should be fine.",
)
VAGUE_NEXT_STEPS = (
    "Great, well, let's stay in touch and see how things develop on your side.",
    "Okay, I'll follow up at some point and we can take it from there.",
    "Sounds good. Just reach out whenever you're ready.",
)
CLOSINGS = (
    "Thanks so much, everyone. Talk soon.",
    "Really appreciate your time today. Have a great rest of your {weekday}.",
    "Thanks, this was really productive. Bye for now.",
)
CLOSING_REPLIES = (
    "Thanks {rep}, bye.",
    "Thank you, take care.",
    "Great, talk soon.",
)
BACKCHANNELS = ("Right.", "Mm-hmm, makes sense.", "Got it.", "Okay.", "Yeah, exactly.", "Sure.")

# --- combinable parts: an opener and a benefit make one of many distinct explanations ---------------------
EXPLAIN_OPENERS = (
    "So with {area},",
    "What managers like about {area} is that",
    "The nice thing about {area} is that",
    "If you look at {area} here,",
    "One more thing on {area}:",
)
BENEFITS = (
    "you can see every deal where the buyer mentioned a competitor in the last two weeks.",
    "a manager can jump straight to the moment a pricing objection came up.",
    "each rep gets a weekly summary of their talk ratio and their longest monologue.",
    "next steps are pulled out of the call automatically and pushed to the opportunity.",
    "you can compare your top performers with the rest of the team on the same criteria.",
    "new hires get a playlist of the best discovery calls from their own segment.",
    "deals without a confirmed budget or a decision maker get flagged before the forecast call.",
    "it tracks which questions reps actually ask, so you can see who skips discovery.",
    "the coaching comments stay attached to the exact moment in the recording.",
    "you can export everything to your data warehouse if your ops team wants to build on it.",
)
CUSTOMER_CONTEXT = (
    "For context, we have about {seats} reps across three regions, and the managers are stretched thin.",
    "Our biggest segment is {industry}, and those deals take four to six months.",
    "Most of our calls are on Zoom, with a few on Teams for the European team.",
    "We doubled the team in the last year, so consistency has really slipped.",
    "The managers here are great sellers, but most of them have never been trained as coaches.",
)
INVESTIGATION = (
    "Give me a second to pull up your account.",
    "Let me try to reproduce that on my side.",
    "I'm checking the logs for your workspace now.",
    "Okay, one moment, I'm looking at the sync history.",
)
INVESTIGATION_FINDINGS = (
    "Okay, I can see the errors in the logs starting {weekday_before} morning.",
    "I was able to reproduce it. It looks related to the latest release.",
    "I see what's happening. Your workspace is hitting a timeout on our side, not yours.",
    "Interesting, I don't see errors on our side, so let's capture a trace next time it happens.",
)
CHECK_INS = (
    "How are the managers finding the coaching scorecards so far?",
    "Has the new team in {city} started using the call library yet?",
    "Is the Salesforce sync still behaving since we fixed the field mapping?",
    "Any feedback from the reps on the weekly summary emails?",
)
CHECK_IN_ANSWERS = (
    "Mostly good. A couple of managers still prefer their spreadsheets, but they're coming around.",
    "Yes, they started last month. The onboarding sessions really helped.",
    "It's been fine since the fix, thanks.",
    "The reps like them, although a few said the emails are a bit long.",
)

# --- longer-call material, shared by every call type ------------------------------------------------------
CUSTOMER_STORIES = (
    "One of our customers in logistics had the same problem. Within a quarter their managers were reviewing "
    "three times as many calls.",
    "A software company about your size rolled this out to forty reps in two weeks, and their ramp time went "
    "from six months to four.",
    "We work with a healthcare team that uses the deal risk alerts in every forecast call now. They "
    "caught two "
    "slipping renewals last quarter.",
    "A customer in financial services started with just their top five reps to build a playlist of "
    "great calls. "
    "New hires watch it in week one.",
    "One of our retail customers uses the topic trackers to hear how often pricing comes up. It changed how "
    "they package their plans.",
    "An insurance company we work with used the talk-ratio data to cut their average demo monologue in half.",
)
ANECDOTES = (
    "Last month one of our best reps lost a deal because nobody knew the buyer had a new boss.",
    "We had a rep who kept discounting on the first call. We only found out when the quarter closed.",
    "Our managers spend Friday afternoons listening to calls at double speed. Nobody enjoys it.",
    "We once forecast a deal at ninety percent and the customer had told us on the call they had no budget.",
    "One of our new reps told me she learned more from one recorded call than from a week of training.",
    "Our enablement team built a great playbook last year, but I have no idea whether anyone follows it.",
    "A customer complained about a promise a rep made on a call, and we couldn't find the recording.",
)
ANECDOTE_REPLIES = (
    "That's exactly the kind of thing we want to help with.",
    "Wow. That happens more often than people think.",
    "That's painful. It's also a really common story.",
    "Right. And nobody is to blame, the information just isn't visible.",
)
AREA_DETAILS = (
    "You can click any score to jump to the moment in the call that drove it.",
    "Each criterion has a short description, so reps know exactly what good looks like.",
    "Managers get a weekly digest with the three calls most worth their time.",
    "Everything can be filtered by team, region, deal stage or call type.",
    "We keep an audit trail of every change to the scoring criteria.",
    "The mobile app shows the same view, which managers use between meetings.",
    "Comments can be shared with the rep privately or with the whole team.",
    "It also works for calls that were recorded before you connected Lumen, going back twelve months.",
    "Admins can hide sensitive calls, for example anything with HR or legal.",
    "If you change the criteria, we rescore past calls overnight so the trends stay comparable.",
)
CUSTOMER_QUESTIONS_EXTRA = (
    ("How do you handle data retention? Our legal team will ask.",
     "Retention is configurable per workspace. Most customers keep recordings for a year and "
         "transcripts longer."),
    ("Does it integrate with Slack?",
     "Yes. Alerts and weekly digests can go to a Slack channel, and managers can comment from there."),
    ("How accurate is the transcription with accents?",
     "Very good in our testing, and you can add your own vocabulary for product names and acronyms."),
    ("Can we try it on a few of our own calls first?",
     "Absolutely. We can set up a two-week pilot with one team and your real calls."),
    ("What does onboarding look like?",
     "A kickoff, a configuration session with your ops team, and two training sessions for managers."),
    ("Is there an API?",
     "There is. Everything in the product is available through the API, and we have a warehouse export."),
)  # fmt: skip
