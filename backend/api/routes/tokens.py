from fastapi import APIRouter, status

from backend.api.deps import CurrentUser, SessionDep
from backend.schemas.accounts import TokenCreate, TokenCreated, TokenPublic, TokensPublic
from backend.services import accounts

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, db: SessionDep, user: CurrentUser) -> TokenCreated:
    token, secret = accounts.create_token(db, user, body.name)
    db.commit()
    return TokenCreated.model_validate(
        {**TokenPublic.model_validate(token).model_dump(), "token": secret}
    )


@router.get("")
def list_tokens(db: SessionDep, user: CurrentUser) -> TokensPublic:
    tokens = accounts.list_tokens(db, user)
    return TokensPublic(data=[TokenPublic.model_validate(t) for t in tokens], count=len(tokens))


@router.delete("/{token_id}")
def revoke_token(token_id: int, db: SessionDep, user: CurrentUser) -> TokenPublic:
    token = accounts.revoke_token(db, user, token_id)
    db.commit()
    return TokenPublic.model_validate(token)
