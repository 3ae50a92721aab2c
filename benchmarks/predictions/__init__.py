"""The run's models on its images, below the report, the app and `clsdet predict` (all three use it): a run's
trained candidates and test images (run.py), checked image decoding (images.py), scores per image (scoring.py)
and the one drawing of an image with every model's decisions (draw.py)."""


class PredictionError(ValueError):
    """A bad image or an incomplete run, said to the user (printed without a traceback by the CLI, shown with
    st.error in the app)."""

    user_error = True
