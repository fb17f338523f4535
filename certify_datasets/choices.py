"""The names a command line offers before any reader is imported (numpy, Pillow, decoders).

`certify status` and the other light commands build the same parser as `evaluate`, so
these choices must not pull in the readers.
"""

FORMATS = ("auto", "folder", "manifest", "cifar10", "cifar100", "imagenet-val", "idx", "video-folder")
SPLITS = ("test", "train")
