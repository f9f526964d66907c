"""Newsstand: a self-hostable news aggregator."""
