"""CVAT's server API: the HTTP client with bounded retries (client.py) and pulling a task's, project's or job's
annotations and images into a data source (pull.py)."""
