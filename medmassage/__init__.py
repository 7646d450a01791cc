"""medmassage: plain-text charts for medical massage therapy, checked and rendered."""

__version__ = "0.1.0"
