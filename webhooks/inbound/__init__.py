"""Machine callers: the Twilio and CMS webhooks, each verified before anything is read or stored."""
