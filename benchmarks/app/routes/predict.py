"""The app's `/` (default) page, Predict (benchmarks/app/main.py registers it with st.navigation)."""

from benchmarks.app import state
from benchmarks.app.views import predict

state.show(predict.render)
