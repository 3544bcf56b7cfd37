"""The support bundle (`--bundle`): the report and the frames it cites, re-read from the
captures, optionally redacted. Above the reporters: it renders the report with them and
reads the captures itself, which a reporter never does."""
