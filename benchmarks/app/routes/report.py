"""The app's `/report` page (benchmarks/app/main.py registers it with st.navigation)."""

from benchmarks.app import state
from benchmarks.app.views import report

state.show(report.render)
