"""SignBridge: electronic signatures through ZapSign and Uanataca One-Shot on your own AWS account."""

__version__ = "0.1.0"
