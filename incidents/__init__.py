"""The incident store: typed tables, migrations, evidence files, and the event-to-incident recorder."""

# Every table must be on Base.metadata wherever incidents.models is used (migrations, their checks).
from incidents import accounts as accounts
from incidents import citizen_reports as citizen_reports
from incidents import events as events
from incidents import links as links
from incidents import plan_jobs as plan_jobs
from incidents import snapshots as snapshots
from incidents import webhooks as webhooks
