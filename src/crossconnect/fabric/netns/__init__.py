"""The ``netns`` fabric backend: every MSEE is a Linux network namespace running BIRD 2, every
programmed link a veth pair, every partner edge a namespace of its own (BIRD, or the partner's
router). See docs/netns.md."""
