"""Server-rendered pages for support staff: find a user, read, fix, restore or delete their memory."""
