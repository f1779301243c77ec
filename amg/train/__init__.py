"""Training AMG: datasets of (video, avatar video, caption) clips, their preparation from
videos and motion files, and the adapter fine-tuning loop."""

from amg.train.dataset import Clip, TrainingData
from amg.train.prepare import PrepareConfig, prepare_clip
from amg.train.cache import LatentCache, build_cache
from amg.train.trainer import TrainConfig, TrainingCancelled, TrainProgress, TrainResult, latest_checkpoint, train
from amg.train.validation import latest_validation, read_scalars

__all__ = ["Clip", "TrainingData", "PrepareConfig", "prepare_clip", "TrainConfig", "TrainingCancelled",
           "TrainProgress", "TrainResult", "latest_checkpoint", "train", "LatentCache", "build_cache",
           "latest_validation", "read_scalars"]
