"""Switchboard's benchmark: the gateway measured against the same child called directly over stdio."""
