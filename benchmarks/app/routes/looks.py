"""The app's `/looks` page (benchmarks/app/main.py registers it with st.navigation)."""

from benchmarks.app import state
from benchmarks.app.views import looks

state.show(looks.render)
