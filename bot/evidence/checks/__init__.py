"""One module per check. `bot.evidence.registry` lists them; each is a small async function."""
