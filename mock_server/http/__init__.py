"""The HTTP face of the mock: the only package that imports Flask, werkzeug and flask-cors."""
