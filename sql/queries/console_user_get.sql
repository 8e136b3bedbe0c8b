-- One console user by login.
-- args: login=ada@demo
-- siyu:include console_user_latest
WHERE login = @login
GROUP BY login
