"""The live demo (演示模拟): a simulator that runs the closed loop by itself on the demo district.

``manage.py simulate_demo`` plays every part of the loop against a running platform, through its
HTTP API only, as real sources and staff would: cameras' analytics post detections, patrol
inspectors (监督员), citizens (群众) and the hotline (热线) report problems near markets, schools
and construction sites; the operator (受理员) files most and rejects a few; the dispatcher (派遣员)
takes the recommendation unless a person already acted; the team's 4G unit posts its positions
while it drives along the recommended route; the team arrives, sends feedback, handles; the
inspector verifies (some fail: 返工 rework) and the shift leader (值班长) closes. Some teams are
slow, so some clocks run out. A newcomer opening the console sees the loop running.

Modules by topic: ``scenario`` (what happens, drawn from a seeded generator, no I/O),
``motion`` (driving along a line), ``media`` (generated photos), ``client`` (the HTTP client and
its retries), ``cast`` (the accounts and device tokens, set up through the ORM before the
traffic starts), ``engine`` (a simulated clock running many scripts), ``scripts`` (the life of a
case and of a team).
"""
