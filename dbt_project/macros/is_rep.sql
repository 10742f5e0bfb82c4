{#
  True when a speaker / analytics member / question author is the call's rep. Symbl reports speakers with an email
  or userId when the platform knows it (matched case-insensitively to the rep's email); otherwise only a display
  name is available, and the name is compared to the recording host's name. A speaker that carries a different
  email is never matched by name, so a customer who shares the rep's first name is not counted as the rep.
#}
{% macro is_rep(email_expr, user_id_expr, name_expr, rep_email_expr, rep_name_expr) -%}
    coalesce(
        lower(trim({{ email_expr }})) = {{ rep_email_expr }}
        or lower(trim({{ user_id_expr }})) = {{ rep_email_expr }}
        or (
            nullif(trim({{ email_expr }}), '') is null
            and lower(trim({{ name_expr }})) = lower(trim({{ rep_name_expr }}))
        ),
        false
    )
{%- endmacro %}

{#
  True when Symbl knows who a speaker is: an email, a userId, or a name that is not a diarization label
  (`Speaker 3`) or the text API's anonymous `Speaker`.
#}
{% macro is_identified_speaker(email_expr, user_id_expr, name_expr) -%}
    coalesce(
        nullif(trim({{ email_expr }}), '') is not null
        or nullif(trim({{ user_id_expr }}), '') is not null
        or not regexp_matches(trim({{ name_expr }}), '^(Speaker|Channel)( [0-9]+)?$'),
        false
    )
{%- endmacro %}
