"""The app's `/browser` page (benchmarks/app/main.py registers it with st.navigation)."""

from benchmarks.app import state
from benchmarks.app.views import browser

state.show(browser.render)
