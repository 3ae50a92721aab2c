"""One script per app page, so each has a URL of its own (`/predict`, `/looks`, `/browser`, `/report`); the
page's content is in benchmarks/app/views/."""
