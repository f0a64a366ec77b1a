"""The incident store: typed tables, migrations, evidence files, and the event-to-incident recorder."""
