"""The web app: FastAPI app factory, middleware, error handling, i18n, layout templates and static files."""
