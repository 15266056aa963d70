from vmlab.querysets import OwnedQuerySet


class BookmarkQuerySet(OwnedQuerySet):
    def visible_to(self, user):
        """Bookmarks are private: a user sees their own, once their role may keep bookmarks."""
        if not user.is_authenticated or not user.can_keep_bookmarks:
            return self.none()
        return self.owned_by(user)
