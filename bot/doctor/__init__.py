"""`jobbot doctor`: is this setup right, before the first incident? One line per check, with the exact fix.

model.py holds the findings and their renderings; azure.py, slack.py and store.py each probe one side with
the same readers and clients the bot uses (so a pass means the bot's own calls work); run.py runs them.
"""
