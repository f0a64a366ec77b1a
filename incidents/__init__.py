"""The incident store: typed tables, migrations, evidence files, and the event-to-incident recorder."""

# Every table must be on Base.metadata wherever incidents.models is used (migrations, their checks).
from incidents import citizen_reports as citizen_reports
