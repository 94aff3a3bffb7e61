"""Requests shared by the engine tests (imported by them; pytest collects nothing here)."""

#: A prompt whose subject ends the prompt. Random weights have random attention, which does
#: not carry a subject from the middle of a prompt to the answer position; an edit at the last
#: token works on them (the trained miniature world covers mid-prompt subjects).
SUBJECT_FINAL = {"prompt": "The mother tongue of Danielle Darrieux", "subject": "Danielle Darrieux", "target_new": "Tokyo"}
SECOND = {"prompt": "The instrument played by Toko Yasuda", "subject": "Toko Yasuda", "target_new": "Berlin"}

