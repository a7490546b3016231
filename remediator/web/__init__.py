"""The web process: the Flask app factory, its runtime, and thin blueprints."""
