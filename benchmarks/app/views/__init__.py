"""The app's pages; each module has `render(ctx)`. (Not named `pages/`: Streamlit would treat that folder as its
own multipage app.)"""
