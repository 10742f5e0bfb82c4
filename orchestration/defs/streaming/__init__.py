"""Live calls over Symbl's Streaming API: the client, audio sources, the Twilio bridge and the event logs."""
