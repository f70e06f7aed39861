"""`freshline ssh-serve`: the console served over SSH, one console process per connection.

- `host_key.py`: the server's host key, generated once and kept;
- `terminal.py`: a console in a child process on its own PTY, and the pumps between the PTY
  and an SSH channel with flow control both ways;
- `gateway.py`: the SSH server (asyncssh): keys checked by the backend, limits, the checks
  that end sessions;
- `session.py`: one SSH session: its channel, the console behind it, and how it ends;
- `child.py`: what runs in the child (takes the PTY as its controlling terminal, then the
  `freshline` console or wall).

docs/ssh.md says how to run it and the threat model.
"""
