"""Avatars: appearance from text, garments painted by region, GLB export."""

from amg.avatar.appearance import Appearance, parse_appearance
from amg.avatar.avatar import Avatar, PosedAvatar, build_avatar, build_avatars, resolve_appearance

__all__ = ["Appearance", "Avatar", "PosedAvatar", "build_avatar", "build_avatars", "parse_appearance",
           "resolve_appearance"]
