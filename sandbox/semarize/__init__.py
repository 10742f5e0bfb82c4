"""Stand-in for Semarize: runs, Kits (as data) and real text analysis that scores their Bricks."""
